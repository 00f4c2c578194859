from django.apps import AppConfig


class IndexConfig(AppConfig):
    name = "dashboard.index"
    label = "index"
    verbose_name = "Failure index"
    default_auto_field = "django.db.models.BigAutoField"
