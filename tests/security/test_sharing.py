"""Staff share a knowledge base with groups or with everyone signed in, on its page and in
the admin; only those who may manage it can change that, and it applies on the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from apps.knowledge.models import KnowledgeBase

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def _share(client: Client, knowledge_base, **data) -> int:
    return client.post(reverse("knowledge:sharing", args=[knowledge_base.pk]), data).status_code


def test_the_manage_page_shows_the_sharing_form_with_every_group(staff, knowledge_base) -> None:
    Group.objects.create(name="Finance <team>")
    html = staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])).content.decode()
    assert f'action="/kb/{knowledge_base.pk}/sharing"' in html
    assert 'name="shared_with_all"' in html and 'name="groups"' in html
    assert "Finance &lt;team&gt;" in html


def test_sharing_with_a_group_lets_its_members_read_at_once_and_unsharing_stops_them(
    staff, knowledge_base, bob, team_b
) -> None:
    bob.groups.add(team_b)
    assert KnowledgeBase.objects.readable_ids(bob) == []
    assert _share(staff, knowledge_base, groups=[team_b.pk]) == 302
    assert KnowledgeBase.objects.readable_ids(bob) == [knowledge_base.pk]
    page = staff.get(reverse("knowledge:manage", args=[knowledge_base.pk])).content.decode()
    assert "saved: groups team-b" in page
    assert _share(staff, knowledge_base) == 302
    assert KnowledgeBase.objects.readable_ids(bob) == []


def test_sharing_with_everyone_signed_in(staff, knowledge_base, charlie) -> None:
    assert _share(staff, knowledge_base, shared_with_all="on") == 302
    assert KnowledgeBase.objects.readable_ids(charlie) == [knowledge_base.pk]
    knowledge_base.refresh_from_db()
    assert knowledge_base.shared_with_all and not knowledge_base.groups.exists()


def test_an_unknown_group_changes_nothing(staff, knowledge_base, team_b) -> None:
    assert _share(staff, knowledge_base, groups=[team_b.pk + 999], shared_with_all="on") == 302
    knowledge_base.refresh_from_db()
    assert not knowledge_base.shared_with_all


@pytest.mark.parametrize("who", ["member", "other staff", "reader of a base shared with all"])
def test_people_who_cannot_manage_the_base_cannot_change_its_sharing(
    client, knowledge_base, team_b, who
) -> None:
    user = User.objects.create_user("someone", is_staff=who == "other staff")
    if who == "member":
        user.groups.add(team_b)
        knowledge_base.groups.add(team_b)
    if who == "reader of a base shared with all":
        knowledge_base.shared_with_all = True
        knowledge_base.save()
    client.force_login(user)
    assert _share(client, knowledge_base, shared_with_all="on", groups=[]) == 404
    knowledge_base.refresh_from_db()
    assert knowledge_base.shared_with_all == (who == "reader of a base shared with all")
    assert list(knowledge_base.groups.all()) == ([team_b] if who == "member" else [])


def test_superusers_may_share_any_base(client, knowledge_base, team_b) -> None:
    client.force_login(User.objects.create_superuser("root", password="x"))
    assert _share(client, knowledge_base, groups=[team_b.pk]) == 302
    assert list(knowledge_base.groups.all()) == [team_b]


def test_the_admin_changes_sharing_of_the_owners_base(client, alice, knowledge_base, team_b):
    alice.user_permissions.set(Permission.objects.filter(content_type__app_label="knowledge"))
    client.force_login(alice)
    url = reverse("admin:knowledge_knowledgebase_change", args=[knowledge_base.pk])
    form = client.get(url).content.decode()
    assert 'name="groups"' in form and 'name="shared_with_all"' in form
    response = client.post(
        url,
        {
            "name": knowledge_base.name,
            "description": "",
            "owner": alice.pk,
            "shared_with_all": "on",
            "groups": [team_b.pk],
            "language": knowledge_base.language,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    knowledge_base.refresh_from_db()
    assert knowledge_base.shared_with_all and list(knowledge_base.groups.all()) == [team_b]
