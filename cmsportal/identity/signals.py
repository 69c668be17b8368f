"""A user's API tokens end with the password that earned them, and with the user's account.

Whenever a user row is saved with a password other than the one stored (the admin's password form,
`manage.py changepassword`, a password-change or reset view, `set_password()` and `save()` anywhere), or
with `is_active` turned off, every token of that user is revoked in the same transaction. A save that
names `update_fields` without the password or `is_active` (such as recording the last sign-in) asks the
database nothing.

Any change to a user, a token, a group or a permission (or their links) also makes this process forget
the tokens it remembers (cmsportal/identity/tokencache.py).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from cmsportal.identity import services, tokencache
from cmsportal.identity.models import Token

__all__ = ["User"]

User = get_user_model()
_WATCHED = {"password", "is_active"}


@receiver(pre_save, sender=User, dispatch_uid="identity.tokens_end_with_password.pre")
def _note_credentials_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._identity_revoke_tokens = False
    if raw or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not _WATCHED.intersection(update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    password_changed = stored["password"] != instance.password
    deactivated = stored["is_active"] and not instance.is_active
    instance._identity_revoke_tokens = password_changed or deactivated


@receiver(post_save, sender=User, dispatch_uid="identity.tokens_end_with_password.post")
def _revoke_tokens(sender, instance, created=False, raw=False, **kwargs):
    if getattr(instance, "_identity_revoke_tokens", False):
        instance._identity_revoke_tokens = False
        services.tokens_revoke_for_user(instance)


# What a remembered token's validity depends on (cmsportal/identity/tokencache.py): changed by this process,
# forgotten at once; changed by any process, forgotten by every worker when it commits (the database's
# notification). Issuing a token and recording a sign-in change nothing a remembered token depends on.
def _forget_tokens(sender, instance=None, created=False, update_fields=None, **kwargs):
    if sender is Token and created:
        return
    if sender is User and update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    tokencache.forget()


for _model in (User, Token, Group, Permission):
    post_save.connect(_forget_tokens, sender=_model, dispatch_uid=f"identity.tokencache.save.{_model.__name__}")
    post_delete.connect(_forget_tokens, sender=_model, dispatch_uid=f"identity.tokencache.delete.{_model.__name__}")
for _through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(_forget_tokens, sender=_through, dispatch_uid=f"identity.tokencache.m2m.{_through.__name__}")
