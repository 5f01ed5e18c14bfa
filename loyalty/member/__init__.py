"""The member's own pages (``/m/``): the digital member card, redeeming from it, and how a member reaches it
(a signed link mailed by staff, or a one-time code mailed to their address). Outside the staff login."""
