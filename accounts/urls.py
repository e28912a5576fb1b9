"""Site account pages under /account/, the user's API sessions among them (the JWT API lives under /api/auth/)."""

from __future__ import annotations

from django.urls import path

from accounts import api_session_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.SiteLoginView.as_view(), name="login"),
    path("logout/", views.SiteLogoutView.as_view(), name="logout"),
    path("sessions/", api_session_views.api_sessions, name="api_sessions"),
    path("sessions/end-all/", api_session_views.sign_out_everywhere, name="sign_out_everywhere"),
    path("sessions/<str:family>/end/", api_session_views.api_session_end, name="api_session_end"),
    path("confirm/<uidb64>/<token>/", views.email_confirm, name="email_confirm"),
    path("password/change/", views.SitePasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", views.SitePasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.SitePasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", views.SitePasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/complete/", views.SitePasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.SitePasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
