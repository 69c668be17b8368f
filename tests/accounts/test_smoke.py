from accounts.models import Account
from tests.factories import AccountFactory


def test_factory_makes_account(db):
    account = AccountFactory(account_id="10101")
    assert Account.objects.get(type="CLOUD", account_id="10101") == account
    assert account.key == "CLOUD/10101"
