"""Small helpers shared by the identity tests."""

from django.db import connection

from cmsportal.identity.models import ApiKey, Token

TOKENS = "/v2.0/tokens"
WHOAMI = "/v1/test-whoami"
BAD_CREDENTIALS = "Unable to authenticate user with credentials provided."


def password_body(username, password):
    return {"auth": {"passwordCredentials": {"username": username, "password": password}}}


def apikey_body(username, key):
    return {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": key}}}


def fault(response):
    """(name, body) of a fault answer such as {"unauthorized": {"code": 401, "message": ...}}."""
    data = response.json()
    assert len(data) == 1, data
    ((name, body),) = data.items()
    assert body["code"] == response.status_code
    return name, body


def raw_rows(model) -> str:
    """Every column of every row of `model`'s table as the database holds it, as one string."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
        return repr(cursor.fetchall())


def secrets_stored() -> str:
    return raw_rows(Token) + raw_rows(ApiKey)
