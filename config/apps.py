"""The project app (management commands) and Django's contrib apps and django-rq with ObjectId keys."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth import apps as auth_apps
from django.contrib.contenttypes import apps as contenttypes_apps
from django_rq import apps as django_rq_apps

# django-mongodb-backend rejects integer AutoFields: every model gets an ObjectId key.
OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class ProjectConfig(AppConfig):
    name = "config"
    verbose_name = "Tienda"
    default = True


class MongoAdminConfig(admin_apps.AdminConfig):
    default = False
    default_auto_field = OBJECT_ID_AUTO_FIELD
    default_site = "accounts.admin_site.TiendaAdminSite"  # its login counts failures like the site's


class MongoAuthConfig(auth_apps.AuthConfig):
    default = False
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(contenttypes_apps.ContentTypesConfig):
    default = False
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoDjangoRqConfig(django_rq_apps.DjangoRqAdminConfig):
    """django-rq's unmanaged ``Dashboard`` model (its admin permission) with an ObjectId key."""

    default = False
    default_auto_field = OBJECT_ID_AUTO_FIELD
