"""A made-up expert pool and draw rules for the sample lot: the demo, tests and benchmarks draw
from it. Names are invented (common surnames and given names); nothing here is a real person.
"""

from __future__ import annotations

import random
from typing import Any

SPECIALTIES = ("给排水", "市政工程", "工程造价", "电气", "结构")
CITIES = ("济南市", "青岛市", "济宁市", "潍坊市", "临沂市", "烟台市", "微山县", "泰安市")
ORGANISATIONS = (
    "山东建筑大学",
    "济南市市政工程设计研究院",
    "青岛理工大学",
    "山东省水利勘测设计院",
    "济宁市政建设集团有限公司",  # a bidder of the sample lot: its experts are avoided
    "山东鲁建水务工程有限公司",  # another bidder
    "潍坊市建设工程造价站",
    "临沂市给排水设计院",
    "烟台市城建档案馆",
    "泰安市工程咨询中心",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def sample_pool(size: int = 200, seed: int = 7) -> dict[str, Any]:
    """A pool document of ``size`` experts, the same for the same ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - invented test data, not a secret
    experts = []
    for n in range(1, size + 1):
        expert: dict[str, Any] = {
            "id": f"E{n:06d}",
            "name": rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
            "specialties": sorted(rng.sample(SPECIALTIES, rng.choice((1, 1, 2)))),
            "organisation": rng.choice(ORGANISATIONS),
            "city": rng.choice(CITIES),
        }
        if rng.random() < 0.1:
            expert["exclusions"] = [rng.choice(ORGANISATIONS)]
        if rng.random() < 0.2:
            expert["last_drawn"] = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
        experts.append(expert)
    return {"name": "山东省综合评标专家库（演示）", "experts": experts}


def sample_rules(date: str = "2026-11-30") -> dict[str, Any]:
    """The sample lot's rules: 7 members and 3 reserves; the county itself and anyone drawn in
    the last 30 days avoided (the lot's bidders always are)."""
    return {
        "date": date,
        "specialties": [
            {"specialty": "给排水", "count": 3, "reserves": 1},
            {"specialty": "市政工程", "count": 2, "reserves": 1},
            {"specialty": "工程造价", "count": 2, "reserves": 1},
        ],
        "avoid": {
            "organisations": ["微山县住房和城乡建设局"],
            "cities": ["微山县"],
            "recent_days": 30,
        },
    }


def sample_fees() -> dict[str, Any]:
    """A fee catalogue for the sample lot's venues (yuan): a half day, a day, then per hour; a
    guest-venue expert may be paid the host's rate when it is higher (the published rule)."""

    def rates(half: str, day: str, hour: str, travel: str) -> dict[str, Any]:
        bands = [{"up_to_minutes": 240, "amount": half}, {"up_to_minutes": 480, "amount": day}]
        return {"bands": bands, "over": {"per_hour": hour}, "travel": travel}

    return {
        "currency": "CNY",
        "guest_rule": "higher",
        "rates": {
            "host": rates("800", "1200", "150", "0"),
            "guest-1": rates("600", "1000", "120", "200"),
            "guest-2": rates("900", "1300", "160", "300"),
        },
    }
