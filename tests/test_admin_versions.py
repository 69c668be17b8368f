"""Two administrators edit the same object: the second save, made on a page opened before the first, is refused.

Enumerated over the admin site: every ServiceAdmin whose model has a declared representation carries the version
of the object its edit page shows, and refuses a save once that object has changed. A newly registered declared
admin without a second, conflicting change below fails here until it is given one.
"""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages

from cmsportal.admin import VERSION_FIELD, ServiceAdmin, version_of
from cmsportal.resources import declaration_of, snapshot
from tests.admin_helpers import changeform_data
from tests.test_admin_services import CASES, _resolve, _url, world  # noqa: F401 (world: the fixture)

pytestmark = pytest.mark.django_db

# A second administrator's change of the same field, to a value other than the case's change.
SECOND_CHANGE = {
    "accounts.account": {"name": "Renamed by the second"},
    "accounts.customer": {"name": "Renamed by the second"},
    "contacts.contact": {"first_name": "Second"},
    "metadata.metadata": {"value": "second"},
    "metadata.namespace": {"access": "READ_RESTRICTED"},
}


def _declared(model) -> bool:
    try:
        declaration_of(model)
    except KeyError:
        return False
    return True


VERSIONED = sorted(
    model._meta.label_lower
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, ServiceAdmin) and _declared(model)
)


def test_every_declared_admin_has_a_conflicting_change():
    assert VERSIONED, "no declared model is on the admin"
    assert sorted(SECOND_CHANGE) == VERSIONED


@pytest.mark.parametrize("label", VERSIONED)
def test_a_save_on_a_page_opened_before_another_s_save_is_refused(client, world, label):  # noqa: F811
    model = next(model for model in admin.site._registry if model._meta.label_lower == label)
    obj = world[CASES[label].obj]
    client.force_login(world["root"])
    url = _url(model, "change", obj.pk)

    first_page, second_page = client.get(url), client.get(url)  # both open the page
    version = second_page.context["cms_version"]
    assert version == version_of(model._default_manager.get(pk=obj.pk))
    assert f'name="{VERSION_FIELD}" value="{version}"' in second_page.content.decode()

    first = {**changeform_data(first_page), VERSION_FIELD: first_page.context["cms_version"]}
    response = client.post(url, {**first, **_resolve(CASES[label].change, world)})
    assert response.status_code == 302, response.content[:2000]
    obj.refresh_from_db()
    saved = snapshot(obj)
    assert version_of(obj) != version, "the first save changed nothing the version covers"

    second = {**changeform_data(second_page), VERSION_FIELD: version}
    response = client.post(url, {**second, **SECOND_CHANGE[label]})
    assert response.status_code == 302 and response["Location"] == url
    assert any("changed by someone else" in str(m) for m in get_messages(response.wsgi_request))
    obj.refresh_from_db()
    assert snapshot(obj) == saved  # the first administrator's change stands

    # Opened again, the page carries the new version, and the same change saves.
    again = client.get(url)
    response = client.post(
        url, {**changeform_data(again), VERSION_FIELD: again.context["cms_version"], **SECOND_CHANGE[label]}
    )
    assert response.status_code == 302 and response["Location"] != url
    obj.refresh_from_db()
    assert snapshot(obj) != saved
