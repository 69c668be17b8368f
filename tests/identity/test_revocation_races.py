"""A revocation that lost a race reports the revocation that won (the row and the object agree)."""

from datetime import timedelta

import pytest

from cmsportal import dates
from cmsportal.identity import services
from cmsportal.identity.models import ApiKey, Token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_token_revoked_meanwhile_keeps_the_first_revocation():
    token, _ = services.token_issue(UserFactory(), [services.PASSWORD])
    stale = Token.objects.get(pk=token.pk)  # read before someone else revokes it
    first = dates.now() - timedelta(minutes=5)
    Token.objects.filter(pk=token.pk).update(revoked_at=first)
    assert services.token_revoke(stale).revoked_at == first == Token.objects.get(pk=token.pk).revoked_at


def test_apikey_revoked_meanwhile_keeps_the_first_revocation():
    key, _ = services.apikey_issue(UserFactory(), "k")
    stale = ApiKey.objects.get(pk=key.pk)
    first = dates.now() - timedelta(minutes=5)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=first)
    assert services.apikey_revoke(stale).revoked_at == first == ApiKey.objects.get(pk=key.pk).revoked_at
