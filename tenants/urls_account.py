"""The signed-in user's own pages (allauth's live under /accounts/, see console/urls.py)."""

from django.urls import path

from tenants.views import account

urlpatterns = [
    path("account/profile/", account.profile, name="account_profile"),
    path("account/language/", account.set_language, name="account_set_language"),
]
