"""Pieces every router uses: paging, the error responses it documents, the bases asked."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from apps.api.auth import token_user
from apps.api.errors import ApiError, ErrorBody
from apps.api.schemas import MAX_OFFSET, MAX_PAGE
from apps.knowledge.models import KnowledgeBase

DEFAULT_PAGE = 20

# The error statuses a route may answer (all in ``ErrorBody``'s shape).
READ_ERRORS: dict[int, Any] = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorBody, 413: ErrorBody}


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Items per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


def page_of(queryset: QuerySet[Any], params: PageParams) -> tuple[list[Any], int]:
    """One page of ``queryset`` and the total count (two queries)."""
    items = list(queryset[params.offset : params.offset + params.limit])
    return items, queryset.count()


def chosen_bases(request: HttpRequest, requested: list[int] | None) -> list[int]:
    """The readable bases to ask; a requested one that is not readable is not found (404)."""
    readable = KnowledgeBase.objects.readable_ids(token_user(request), requested=requested)
    if requested is not None:
        missing = sorted(set(requested) - set(readable))
        if missing:
            raise ApiError(
                404, f"No knowledge base {missing[0]} that you may read.", code="not_found"
            )
    return readable
