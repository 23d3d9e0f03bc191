"""Program settings and rules (owner only), under /b/<slug>/referrals/program/."""

from django.urls import path

from . import views_program, views_testdrive

urlpatterns = [
    path("program/", views_program.program_settings, name="program"),
    path("program/enabled/", views_program.program_enabled, name="program_enabled"),
    path("program/rules/new/", views_program.rule_new, name="rule_new"),
    path("program/rules/<int:rule_id>/", views_program.rule_edit, name="rule_edit"),
    path("program/rules/<int:rule_id>/move/", views_program.rule_move, name="rule_move"),
    path("program/rules/<int:rule_id>/delete/", views_program.rule_delete, name="rule_delete"),
    path("program/test-drive/", views_testdrive.test_drive, name="test_drive"),
    path("program/test-drive/remove/", views_testdrive.test_records_delete, name="test_records_delete"),
]
