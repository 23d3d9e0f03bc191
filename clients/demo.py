"""Demo clients: believable names, sources, tags, consent and who-referred-whom chains. Idempotent."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from .models import Client, Source
from .services import ClientData, client_create, client_set_referrer

FIRST_NAMES = [
    "Anna", "Ben", "Chloe", "Daniel", "Elena", "Farah", "George", "Hana", "Isaac", "Julia", "Kofi", "Laura",
    "Marco", "Nadia", "Oliver", "Priya", "Quinn", "Rosa", "Samir", "Tessa", "Umar", "Vera", "Wes", "Ximena",
    "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Dev", "Esther", "Felix", "Greta", "Hugo", "Iris", "Jonah",
]  # fmt: skip
LAST_NAMES = [
    "Andersen", "Brooks", "Castillo", "Dubois", "Ekström", "Fischer", "García", "Hughes", "Ibrahim", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nakamura", "O'Neill", "Patel", "Rossi", "Schmidt", "Tanaka", "Varga",
]  # fmt: skip
TAGS = ["VIP", "Prenatal", "Athlete", "Prefers mornings", "Gift card buyer", "Back pain"]
HEARD_ABOUT = ["Instagram", "Google Maps", "Walked past the studio", "Local newspaper", "Yoga studio flyer"]


def seed(context) -> None:
    business = context.business
    rng = random.Random(20261123)
    with scope(business=business):
        if Client.objects.filter(business=business).exists():
            context.extras["clients"] = list(Client.objects.filter(business=business).order_by("pk"))
            return
        clients: list[Client] = []
        for index, first_name in enumerate(FIRST_NAMES):
            last_name = LAST_NAMES[index % len(LAST_NAMES)]
            local = f"{first_name}.{last_name}".lower().replace("'", "").replace("ö", "o").replace("í", "i")
            referred = index >= 8 and rng.random() < 0.45
            source = (
                Source.CLIENT_REFERRAL
                if referred
                else rng.choice([Source.HEARD_ABOUT, Source.ONLINE_BOOKING, Source.WALK_IN, Source.PROMOTION])
            )
            data = ClientData(
                first_name=first_name,
                last_name=last_name,
                email=f"{local}@{rng.choice(['gmail.com', 'outlook.com', 'icloud.com', 'fastmail.com'])}",
                phone=f"+1 212 555 {1000 + index:04d}",
                source=source,
                source_detail=rng.choice(HEARD_ABOUT) if source == Source.HEARD_ABOUT else "",
                notes=rng.choice(["", "", "Prefers firm pressure.", "Allergic to almond oil.", "Knee injury, 2025."]),
                email_consent=rng.random() < 0.7,
                sms_consent=rng.random() < 0.3,
                tags=rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2])),
            )
            client = client_create(business=business, data=data, actor=context.owner)
            # Spread sign-up dates over the last year so the list and its filters look lived-in.
            Client.objects.filter(pk=client.pk).update(
                created_at=timezone.now() - timedelta(days=365 - index * 9, hours=rng.randint(0, 20))
            )
            if referred:
                # Most referrals come from a handful of loyal clients, as in real practices.
                referrer = rng.choice(clients[:4] if rng.random() < 0.6 else clients)
                client_set_referrer(business=business, client=client, referrer=referrer, actor=context.owner)
            clients.append(client)
        context.extras["clients"] = clients
