"""Tenant pages: organisations, projects, members and invitations (orgs.py, members.py), the account pages
(account.py), the organisation's activity log (activity.py) and the operators' back office (backoffice.py)."""
