"""Users in Django admin, keyed by e-mail instead of username."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = (
        "email", "full_name", "email_confirmed", "is_staff", "is_active", "blocked_at", "blocked_by", "date_joined",
    )  # fmt: skip
    list_filter = ("is_staff", "is_superuser", "is_active", ("email_confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "full_name")
    readonly_fields = ("blocked_at", "blocked_by", "last_login", "date_joined", "email_confirmed_at", "language")
    actions = ("block_users", "unblock_users", "sign_out_everywhere")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "language", "email_confirmed_at")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Blocking"), {"fields": ("blocked_at", "blocked_by")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description=_("e-mail confirmed"), boolean=True, ordering="email_confirmed_at")
    def email_confirmed(self, user: User) -> bool:
        return user.email_confirmed_at is not None

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Unticking "active" is a ban, with the same effect as the "Block" action.
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                services.user_unblock(user=obj)
            else:
                services.user_block(user=obj, actor=request.user)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Block selected users"), permissions=["change"])
    def block_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.pk != request.user.pk]
        for user in users:
            services.user_block(user=user, actor=request.user)
        if len(users) < queryset.count():
            self.message_user(request, _("You cannot block yourself."), messages.WARNING)
        self.message_user(
            request,
            ngettext(
                "%(count)d user blocked: signed out of the site, API and live pages.",
                "%(count)d users blocked: signed out of the site, API and live pages.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unblock selected users"), permissions=["change"])
    def unblock_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset)
        for user in users:
            services.user_unblock(user=user)
        self.message_user(
            request,
            ngettext("%(count)d user unblocked.", "%(count)d users unblocked.", len(users)) % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("End all sessions of selected users"), permissions=["change"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset)
        for user in users:
            services.user_sign_out_everywhere(user=user)
        self.message_user(
            request,
            ngettext("%(count)d user signed out everywhere.", "%(count)d users signed out everywhere.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )
