"""``POST /audio/transcriptions`` of the local provider: Groq's multipart request, and its
``json``, ``text`` and ``verbose_json`` answers, from the local Whisper."""

from __future__ import annotations

import dataclasses
from typing import Any

import av
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_POST

from apps.localmodels import transcriber
from apps.localmodels.views import error_response, provider_endpoint

# Groq's own limit for a direct upload on its free tier; beyond it: 413, as Groq answers.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
FORMATS = ("json", "text", "verbose_json")
GRANULARITIES = {"segment", "word"}


def _segment_json(segment: transcriber.LocalSegment) -> dict[str, Any]:
    out = dataclasses.asdict(segment)
    out.pop("words")
    return out


def _verbose(result: transcriber.LocalTranscript, granularities: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": result.language,
        "duration": round(result.duration, 2),
        "text": result.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = [_segment_json(s) for s in result.segments]
    if "word" in granularities:
        body["words"] = [dataclasses.asdict(w) for s in result.segments for w in s.words]
    body["x_groq"] = {"id": f"req_local_{id(result):x}"}
    return body


def _request_error(request: HttpRequest) -> JsonResponse | None:
    upload = request.FILES.get("file")
    if upload is None:
        return error_response(400, "'file': a file is required (multipart/form-data).")
    if upload.size is not None and upload.size > MAX_AUDIO_BYTES:
        return error_response(
            413, "Request Entity Too Large: the file is over 25 MB.", code="request_too_large"
        )
    model = request.POST.get("model", "")
    if model != transcriber.MODEL_NAME:
        return error_response(
            404,
            f"The model `{model}` does not exist. This server serves `{transcriber.MODEL_NAME}`.",
            code="model_not_found",
        )
    if request.POST.get("response_format", "json") not in FORMATS:
        return error_response(400, f"'response_format' must be one of {', '.join(FORMATS)}.")
    granularities = set(request.POST.getlist("timestamp_granularities[]"))
    if granularities - GRANULARITIES:
        return error_response(400, "'timestamp_granularities' may hold 'segment' and 'word'.")
    language = request.POST.get("language", "")
    if language and language not in ("en", "english"):
        return error_response(400, f"`{transcriber.MODEL_NAME}` transcribes English (`en`) only.")
    return None


@require_POST
@provider_endpoint
def transcriptions(request: HttpRequest) -> HttpResponseBase:
    refused = _request_error(request)
    if refused is not None:
        return refused
    upload = request.FILES["file"]
    assert isinstance(upload, UploadedFile)
    response_format = request.POST.get("response_format", "json")
    granularities = set(request.POST.getlist("timestamp_granularities[]"))
    try:
        result = transcriber.transcribe(
            upload.read(),
            prompt=request.POST.get("prompt", "")[:2000],
            words="word" in granularities and response_format == "verbose_json",
        )
    except (av.FFmpegError, ValueError) as exc:
        return error_response(400, f"The file could not be decoded as audio: {str(exc)[:200]}")
    except IndexError:  # faster-whisper's decoder on a container without an audio stream
        return error_response(400, "The file could not be decoded as audio: it has no audio track.")
    if response_format == "text":
        return HttpResponse(result.text + "\n", content_type="text/plain; charset=utf-8")
    if response_format == "verbose_json":
        return JsonResponse(_verbose(result, granularities))
    return JsonResponse({"text": result.text, "x_groq": {"id": f"req_local_{id(result):x}"}})
