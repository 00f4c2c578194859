from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Meteroid failures dashboard"

    def ready(self) -> None:
        from dashboard.logs import install_record_factory

        install_record_factory()
