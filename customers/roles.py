"""Staff roles (auth groups) and what each may do, granted by data migrations.

Each app grants its own permissions in a migration of its own with ``grant_permissions`` (so the
arrows still point down). Superusers use the Django admin and bypass all checks.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MANAGER = "Manager"
SUPPORT = "Support"
MARKETING = "Marketing"
ROLES = [MANAGER, SUPPORT, MARKETING]

CUSTOMERS_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.delete_customer",
        "customers.export_customer",
        "customers.import_customer",
        "customers.merge_customer",
        "customers.view_note",
        "customers.add_note",
        "customers.change_note",
        "customers.delete_note",
        "customers.view_tag",
        "customers.add_tag",
        "customers.change_tag",
        "customers.delete_tag",
        "customers.view_customermerge",
        "customers.view_importbatch",
    ],
    SUPPORT: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.merge_customer",
        "customers.view_note",
        "customers.add_note",
        "customers.view_tag",
    ],
    MARKETING: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.import_customer",
        "customers.view_note",
        "customers.add_note",
        "customers.view_tag",
        "customers.add_tag",
        "customers.change_tag",
        "customers.view_importbatch",
    ],
}


# Recording a customer's contact preferences on their behalf (they asked by phone, at the counter): support and
# managers. Every role that sees the customer sees the preferences, read-only.
PREFERENCE_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: ["customers.add_contactpreference", "customers.view_contactpreference"],
    SUPPORT: ["customers.add_contactpreference", "customers.view_contactpreference"],
}


def grant_permissions(apps, roles: dict[str, list[str]]) -> None:
    """Create the groups if needed and add the given permissions (``app_label.codename``) to each."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in roles.items():
        group, _created = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke_permissions(apps, roles: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in roles.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


SEGMENT_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "customers.view_segment",
        "customers.add_segment",
        "customers.change_segment",
        "customers.delete_segment",
    ],
    SUPPORT: ["customers.view_segment"],
    MARKETING: [
        "customers.view_segment",
        "customers.add_segment",
        "customers.change_segment",
        "customers.delete_segment",
    ],
}


# The roles' names are auth group names, stored in English; pages show them in the reader's language.
ROLE_LABELS = {MANAGER: _("Manager"), SUPPORT: _("Support"), MARKETING: _("Marketing")}


def role_label(name: str) -> str:
    """A group's name in the reader's language (a group an admin added is shown as it was named)."""
    return str(ROLE_LABELS.get(name, name))
