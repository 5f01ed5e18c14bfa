from django.conf import settings


def tsunagu(request):
    return {"SHOP_NAME": settings.TSUNAGU_SHOP_NAME}
