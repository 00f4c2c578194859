from __future__ import annotations

from django.apps import AppConfig


def _base_url() -> str:
    # Imported when the gateway first asks: the loopback server starts then, not at start-up.
    from dashboard.sandbox.api.server import sandbox_base_url

    return sandbox_base_url()


class SandboxConfig(AppConfig):
    name = "dashboard.sandbox"
    label = "sandbox"
    verbose_name = "Meteroid sandbox"

    def ready(self) -> None:
        from dashboard.meteroid.gateway import use_sandbox

        use_sandbox(_base_url)
