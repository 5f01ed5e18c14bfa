"""Domain events the feedback app announces to the apps above it (the crm dashboard).

Sent by the services in feedback/services/ after the transaction commits, once per change. Receivers
connect in their AppConfig.ready() and call their own services; a failing receiver is logged and does
not stop the others.
"""

from django.dispatch import Signal

# A ticket was opened. kwargs: ticket (Ticket)
ticket_opened = Signal()

# A ticket's status changed. kwargs: ticket (Ticket), from_status (str), to_status (str)
ticket_status_changed = Signal()

# A public reply was written. kwargs: ticket (Ticket), message (TicketMessage)
ticket_replied = Signal()

# The customer wrote on a ticket (an email answering a reply, a LINE message). kwargs: ticket (Ticket),
# message (TicketMessage), from_status (str: the status before the message moved it)
ticket_customer_replied = Signal()

# A survey was answered (the first and only answer). kwargs: survey (Survey)
survey_answered = Signal()
