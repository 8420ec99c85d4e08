"""``/healthz``, ``/readyz`` and ``/metrics``: no sign-in, and no detail beyond check names."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.operations import health, metrics


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers (nothing else is asked: no database, no model server)."""
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, else 503 naming the failing checks (names only)."""
    failing = health.failing_checks()
    if not failing:
        return JsonResponse({"status": "ready"})
    response = JsonResponse({"status": "not ready", "failing": failing}, status=503)
    # The probe's answer, not a server error: no "Service Unavailable" ERROR line from
    # django.request at every probe while starting (the failing checks log their warnings).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format; 404 unless ``METRICS_ENABLED``, 403 for other scrapers."""
    if not settings.METRICS_ENABLED:
        raise Http404("Metrics are turned off (METRICS_ENABLED).")
    if not metrics.scrape_allowed(request):
        return HttpResponse(
            "This address may not read the metrics.", status=403, content_type="text/plain"
        )
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
