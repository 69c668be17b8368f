from accounts.models import Account
from tests.factories import AccountFactory


def test_factory_makes_account(db):
    account = AccountFactory(account_id="10101")
    assert Account.objects.get(type="CLOUD", account_id="10101") == account
    assert account.key == "CLOUD/10101"


def test_staff_factory_grants_global_view(db):
    from cmsportal.identity.access import can_view_all
    from tests.factories import StaffFactory, UserFactory

    assert can_view_all(StaffFactory())
    assert not can_view_all(StaffFactory(view_all=False))
    assert not can_view_all(UserFactory())
