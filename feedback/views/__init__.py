"""Feedback pages: the public form and survey pages, and the staff queue, ticket page, canned responses,
survey answers and figures. Each view checks its permission and calls one service; urls.py names the module."""
