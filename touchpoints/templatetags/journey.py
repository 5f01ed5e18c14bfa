"""Template helpers of the journey: the stage and channel menus for templates the journey views do not render
(the timeline filters on the customer page)."""

from django import template

from ..models import Channel, Stage

register = template.Library()


@register.simple_tag
def journey_choices() -> dict:
    return {"stages": Stage.choices, "channels": Channel.choices}
