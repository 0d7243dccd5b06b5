"""The plan of a synthetic year: pure, deterministic given the seed and the inputs.

:func:`build_plan` takes the catalogue as plain values (:class:`PlanInputs`: the priority
trades in force and the other level-4 occupations) and returns a :class:`Plan`: the
institutions, the cohorts with their rosters (people, attendance, outcomes), the
certificates, and the anomalies planted on purpose. No database, no clock: the same
inputs and seed give the same plan, byte for byte (:func:`roster_csv`).

Shapes (``city`` scale, the city plan's numbers, DESIGN.md section 1):

- about 120 institutions (training providers and assessment bodies) across the divisions,
  weighted by population, more of them in the districts than in the counties;
- about 4,000 vocational cohorts and 147,000 enrolments; ~58% of the cohorts train a
  priority trade, chosen with a skewed (Zipf-like) popularity, the rest other level-4
  occupations; start dates follow a seasonal shape (little in February and December),
  cohorts last 2-12 weeks and end within the year;
- about 400 startup cohorts (GYB/SYB/IYB/EYB) and 10,000 startup trainees;
- outcomes: ~90% complete, the rest withdraw or fail; certificates for the completers who
  pass (pass rates by level), with a level mix calibrated so that about 45,500 distinct
  people get a level-3-or-above skill-level certificate;
- people: Chinese names, valid ID numbers with Luoyang address codes (the retired 410381,
  410322 and 410306 for people from 偃师 and 孟津, who all got their numbers before 2021),
  ages 16-59 mostly, mobile phones, household divisions, priority groups in plausible
  shares (1,450 veterans so that 1,200+ complete);
- anomalies, known and counted: people in overlapping cohorts at two institutions, one
  phone shared by many trainees across institutions, completions with attendance below
  80% of the planned hours.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import hashlib
import io
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from registry.accounts.rules import uscc_with_check
from registry.people.rules.idnumber import make_number

# --- reference values ------------------------------------------------------------------


@dataclass(frozen=True)
class DivisionInfo:
    code: str
    name: str
    population: int
    """Registered population, in units of 10,000 (approximate, for weights only)."""
    district: bool


DIVISIONS: tuple[DivisionInfo, ...] = (
    DivisionInfo("410311", "洛龙区", 95, True),
    DivisionInfo("410305", "涧西区", 60, True),
    DivisionInfo("410303", "西工区", 38, True),
    DivisionInfo("410307", "偃师区", 58, True),
    DivisionInfo("410308", "孟津区", 52, True),
    DivisionInfo("410329", "伊川县", 74, False),
    DivisionInfo("410327", "宜阳县", 56, False),
    DivisionInfo("410325", "嵩县", 48, False),
    DivisionInfo("410323", "新安县", 42, False),
    DivisionInfo("410326", "汝阳县", 39, False),
    DivisionInfo("410328", "洛宁县", 38, False),
    DivisionInfo("410324", "栾川县", 32, False),
    DivisionInfo("410304", "瀍河回族区", 19, True),
    DivisionInfo("410302", "老城区", 18, True),
    DivisionInfo("410371", "洛阳高新技术产业开发区", 10, True),
)
DIVISION_NAMES = {d.code: d.name for d in DIVISIONS}
_COUNTIES = frozenset(d.code for d in DIVISIONS if not d.district)
RETIRED_ADDRESS_CODES: dict[str, tuple[tuple[str, float], ...]] = {
    # Household division -> the address codes its people's ID numbers carry (issued before 2021).
    "410307": (("410381", 1.0),),  # 偃师市 -> 偃师区
    "410308": (("410322", 0.85), ("410306", 0.15)),  # 孟津县, 吉利区 -> 孟津区
    "410371": (("410305", 0.5), ("410311", 0.3), ("410303", 0.2)),  # statistics code, never in IDs
}

GROUP_LABELS: dict[str, str] = {
    "graduate": "高校毕业生",
    "migrant_worker": "农民工",
    "veteran": "退役军人",
    "hardship": "就业困难人员",
    "rural_labour": "农村劳动力",
    "disabled": "残疾人",
    "unemployed_youth": "登记失业青年",
    "poverty_alleviated": "脱贫人口",
}
OUTCOME_LABELS = {"completed": "合格", "withdrawn": "退学", "failed": "不合格"}
LEVEL_LABELS = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师"}
KIND_LABELS = {
    "skill_level": "职业技能等级认定",
    "special_ability": "专项职业能力",
    "special_operation": "特种作业",
    "completion": "技能提升",
}
CERTIFICATE_LETTER = {
    "skill_level": "S",
    "special_ability": "Z",
    "special_operation": "T",
    "completion": "J",
    "startup": "C",
}
STARTUP_COURSES = (("SYB", 0.55, 80), ("GYB", 0.25, 24), ("IYB", 0.14, 40), ("EYB", 0.06, 56))
STARTUP_NAMES = {
    "GYB": "产生你的企业想法",
    "SYB": "创办你的企业",
    "IYB": "改善你的企业",
    "EYB": "扩大你的企业",
}

# The occupations institutions train most, most popular first (those in the inputs are used).
POPULAR = (
    "4-10-01-05",  # 养老护理员
    "4-01-06-02",  # 互联网营销师
    "4-10-01-06",  # 家政服务员
    "4-03-02-01",  # 中式烹调师
    "6-18-02-04",  # 焊工
    "6-31-01-03",  # 电工
    "4-02-04-06",  # 无人机驾驶员
    "4-10-01-03",  # 保育师
    "4-14-01-02",  # 医疗护理员
    "4-01-06-01",  # 电子商务师
    "4-03-02-02",  # 中式面点师
    "4-10-04-02",  # 保健按摩师
    "4-14-02-02",  # 健康管理师
    "4-10-03-01",  # 美容师
    "4-10-03-02",  # 美发师
    "6-18-01-07",  # 多工序数控机床操作调整工
    "4-07-05-03",  # 消防设施操作员
    "4-12-01-01",  # 汽车维修工
    "4-04-05-05",  # 人工智能训练师
    "4-13-01-05",  # 全媒体运营师
    "4-03-02-07",  # 茶艺师
    "4-03-02-04",  # 西式面点师
    "4-10-08-01",  # 网约配送员
    "5-05-01-01",  # 农业技术员
    "5-05-02-01",  # 农作物植保员
    "6-29-01-01",  # 砌筑工
    "6-05-01-03",  # 缝纫工
    "4-07-05-01",  # 保安员
)
SPECIAL_OPERATION_WORDS = ("电工", "焊", "架子工", "制冷", "起重", "登高")

SURNAMES = "王李张刘陈杨赵郭孙周吴黄徐朱马胡高林何罗宋郑梁谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文牛翟申葛范"
_SURNAME_WEIGHTS = tuple(1.0 / (i + 4) ** 0.9 for i in range(len(SURNAMES)))
_SURNAME_CUM = tuple(itertools.accumulate(_SURNAME_WEIGHTS))
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方")
GIVEN_MALE_OLD = "建国军伟强军华明志刚红卫东平新民国庆建华海波永胜振华德胜文斌建军玉山长青"
GIVEN_MALE_YOUNG = "浩宇轩子涵博文睿泽一鸣俊杰嘉豪思远天佑宇航晨阳铭哲明轩皓然梓豪正阳"
GIVEN_FEMALE_OLD = "秀英桂兰淑珍玉梅凤英丽娟红霞海燕春梅翠花建英爱华素芳丽华金凤月娥"
GIVEN_FEMALE_YOUNG = "欣怡梓萱雨涵诗琪子琳可馨佳怡思雨一诺语嫣梦瑶心怡紫涵若曦雅婷晓彤"

BRANDS = [
    "华信",
    "金桥",
    "鼎盛",
    "恒达",
    "博远",
    "新华",
    "中原",
    "河洛",
    "牡丹",
    "龙门",
    "天成",
    "宏图",
    "启航",
    "明德",
    "精工",
    "安康",
    "瑞丰",
    "汇智",
    "众诚",
    "卓越",
    "远航",
    "英才",
    "智联",
    "德润",
    "鑫源",
    "国泰",
    "嘉禾",
    "同创",
    "九州",
    "洛神",
    "伊河",
    "洛水",
    "邙山",
    "白马",
    "隋唐",
    "周礼",
    "古都",
    "丝路",
    "长青",
    "青松",
    "佳美",
    "慧通",
    "巧手",
    "匠心",
    "金牌",
    "百川",
    "大成",
    "正道",
    "民生",
    "惠民",
    "福康",
    "万家",
    "乐业",
    "安居",
    "兴业",
    "优才",
    "蓝天",
    "阳光",
    "红旗",
    "天衡",
]
TRAINING_SUFFIXES = (
    ("职业技能培训学校", "52"),
    ("职业培训学校", "52"),
    ("职业技能培训有限公司", "91"),
    ("培训学校", "52"),
    ("技工学校", "52"),
    ("教育科技有限公司", "91"),
)
ASSESSMENT_NAMES = (
    "洛阳市创业培训评价中心",
    "洛阳{brand}职业技能等级认定中心",
    "洛阳市{brand}职业技能鉴定站",
    "洛阳{brand}技能人才评价中心",
)

MONTH_WEIGHTS = (0.6, 0.35, 1.25, 1.3, 1.2, 1.0, 0.85, 0.8, 1.25, 1.0, 1.05, 0.35)
AGE_BANDS = (
    (16, 19, 4.0),
    (20, 24, 14.0),
    (25, 29, 15.0),
    (30, 34, 15.0),
    (35, 39, 14.0),
    (40, 44, 13.0),
    (45, 49, 11.0),
    (50, 54, 9.0),
    (55, 59, 4.5),
    (60, 63, 0.5),
)
STARTUP_AGE_BANDS = (
    (20, 24, 12.0),
    (25, 29, 22.0),
    (30, 34, 22.0),
    (35, 39, 18.0),
    (40, 44, 14.0),
    (45, 54, 12.0),
)
SKILL_LEVEL_MIX = ((5, 0.15), (4, 0.22), (3, 0.45), (2, 0.14), (1, 0.04))
PASS_RATE = {5: 0.92, 4: 0.87, 3: 0.82, 2: 0.76, 1: 0.68}
OTHER_PASS_RATE = {"special_ability": 0.9, "special_operation": 0.88, "completion": 1.0, "startup": 1.0}


@dataclass(frozen=True)
class Scale:
    name: str
    training_institutions: int
    assessment_bodies: int
    vocational_cohorts: int
    """Including the cancelled ones."""
    vocational_enrolments: int
    startup_cohorts: int
    startup_trainees: int
    high_skill_holders: int
    """Distinct people with a level-3+ skill-level certificate the plan aims at."""
    veterans: int
    """Veterans among the vocational trainees (about 90% of them complete)."""
    overlap_people: int
    shared_phone_trainees: int
    attendance_shortfalls: int
    cancelled_cohorts: int
    demo_institution_cohorts: int
    """Cohorts of the demo institution (when it exists), so ``demo-institution`` sees some."""

    def scaled(self, factor: float, name: str | None = None) -> Scale:
        """The same shape at another size (anomalies kept at least at their small sizes)."""

        def n(value: int, least: int = 1) -> int:
            return max(least, round(value * factor))

        return Scale(
            name=name or f"{self.name}x{factor:g}",
            training_institutions=n(self.training_institutions, 2),
            assessment_bodies=n(self.assessment_bodies),
            vocational_cohorts=n(self.vocational_cohorts, 4),
            vocational_enrolments=n(self.vocational_enrolments, 80),
            startup_cohorts=n(self.startup_cohorts),
            startup_trainees=n(self.startup_trainees, 20),
            high_skill_holders=n(self.high_skill_holders),
            veterans=n(self.veterans),
            overlap_people=n(self.overlap_people, 2),
            shared_phone_trainees=max(10, self.shared_phone_trainees),
            attendance_shortfalls=n(self.attendance_shortfalls, 2),
            cancelled_cohorts=n(self.cancelled_cohorts),
            demo_institution_cohorts=n(self.demo_institution_cohorts),
        )


SCALES: dict[str, Scale] = {
    "city": Scale(
        name="city",
        training_institutions=112,
        assessment_bodies=8,
        vocational_cohorts=4000,
        vocational_enrolments=147_000,
        startup_cohorts=400,
        startup_trainees=10_000,
        high_skill_holders=45_500,
        veterans=1450,
        overlap_people=60,
        shared_phone_trainees=36,
        attendance_shortfalls=150,
        cancelled_cohorts=40,
        demo_institution_cohorts=30,
    ),
    "small": Scale(
        name="small",
        training_institutions=5,
        assessment_bodies=1,
        vocational_cohorts=34,
        vocational_enrolments=1350,
        startup_cohorts=6,
        startup_trainees=150,
        high_skill_holders=418,
        veterans=14,
        overlap_people=4,
        shared_phone_trainees=30,
        attendance_shortfalls=10,
        cancelled_cohorts=1,
        demo_institution_cohorts=5,
    ),
    "tiny": Scale(
        name="tiny",
        training_institutions=2,
        assessment_bodies=1,
        vocational_cohorts=5,
        vocational_enrolments=120,
        startup_cohorts=2,
        startup_trainees=40,
        high_skill_holders=37,
        veterans=3,
        overlap_people=2,
        shared_phone_trainees=8,
        attendance_shortfalls=3,
        cancelled_cohorts=1,
        demo_institution_cohorts=1,
    ),
}


# --- inputs and the plan ---------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str


@dataclass(frozen=True)
class PlanInputs:
    priority_trades: Sequence[Occupation]
    """The priority list in force for the year (158 entries in the shipped reference list)."""
    other_occupations: Sequence[Occupation]
    """Level-4 occupations not on the list."""
    demo_training_uscc: str | None = None
    """The demo institution (``demo-institution`` signs in to it), when it exists and may
    open cohorts in the year: some cohorts are given to it."""
    demo_assessment_uscc: str | None = None
    """The demo assessment body (``demo-assessor``): it issues some certificates."""
    last_day: dt.date | None = None
    """The last day anything may happen on (certificates); cohorts end at least two weeks
    earlier. Default 31 December of the year."""


@dataclass(frozen=True)
class PlannedInstitution:
    key: int
    uscc: str
    name: str
    division_code: str
    kinds: tuple[str, ...]
    approved_years: tuple[int, ...]
    existing: bool = False
    """Already registered (the demo institution and body): not created by the demo."""


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    phone: str
    household: str
    """Household division code."""
    groups: tuple[str, ...]


@dataclass
class Enrolment:
    person: int
    """Index into :attr:`Plan.people`."""
    attended_hours: float
    outcome: str
    """``completed``, ``withdrawn`` or ``failed``."""
    passed: bool = False
    """Completed and passed the assessment: gets the cohort's certificate."""


@dataclass
class Cohort:
    index: int
    reference: str
    institution: int
    """Key of the :class:`PlannedInstitution`."""
    kind: str
    name: str
    division_code: str
    planned_hours: int
    start_date: dt.date
    end_date: dt.date
    capacity: int
    occupation: Occupation | None = None
    priority: bool = False
    certificate_kind: str | None = None
    certificate_level: int | None = None
    startup_course: str | None = None
    training_mode: str = "general"
    delivery: str = "in_person"
    issuer: int = 0
    """Key of the assessment body that certifies the cohort."""
    cancelled: bool = False
    enrolments: list[Enrolment] = field(default_factory=list)


@dataclass(frozen=True)
class Certificate:
    number: str
    person: int
    cohort: int
    kind: str
    issuer: int
    issue_date: dt.date
    occupation_code: str | None
    level: int | None


@dataclass
class Anomalies:
    overlap_people: list[int] = field(default_factory=list)
    overlap_pairs: list[tuple[int, int]] = field(default_factory=list)
    """For each overlap person, the two cohorts (indexes), at two institutions, whose dates overlap."""
    shared_phone: str = ""
    shared_phone_people: list[int] = field(default_factory=list)
    attendance_shortfalls: list[tuple[int, int]] = field(default_factory=list)
    """(cohort index, person index) of completions with attendance below 80% of the plan."""

    def as_dict(self) -> dict[str, int]:
        return {
            "overlapping_enrolments_people": len(self.overlap_people),
            "shared_phone_trainees": len(self.shared_phone_people),
            "attendance_shortfalls": len(self.attendance_shortfalls),
        }


@dataclass
class Plan:
    year: int
    scale: Scale
    seed: int
    tag: str
    """Marks the demo's own records: cohort references ``DEMO-<year>-<tag>-...``."""
    last_day: dt.date
    institutions: list[PlannedInstitution]
    people: list[Person]
    cohorts: list[Cohort]
    certificates: list[Certificate]
    anomalies: Anomalies

    @property
    def reference_prefix(self) -> str:
        return f"DEMO-{self.year}-"

    @property
    def certificate_prefix(self) -> str:
        return f"DEMO{self.year}"

    def institution(self, key: int) -> PlannedInstitution:
        return self.institutions[key]

    def stats(self) -> dict[str, Any]:
        """What the plan holds, counted the way the rollup counts (DESIGN.md section 7)."""
        cohorts = Counter((c.kind, "cancelled" if c.cancelled else "closed") for c in self.cohorts)
        voc = [c for c in self.cohorts if c.kind == "vocational" and not c.cancelled]
        startup = [c for c in self.cohorts if c.kind == "startup" and not c.cancelled]
        voc_enrolments = sum(len(c.enrolments) for c in voc)
        completed_people = {e.person for c in voc for e in c.enrolments if e.outcome == "completed"}
        startup_completed = {e.person for c in startup for e in c.enrolments if e.outcome == "completed"}
        outcomes = Counter(e.outcome for c in voc for e in c.enrolments)
        by_kind = Counter(c.kind for c in self.certificates)
        by_level = Counter(c.level for c in self.certificates if c.kind == "skill_level")
        high = {c.person for c in self.certificates if c.kind == "skill_level" and (c.level or 9) <= 3}
        veterans_trained = {p for p in completed_people if "veteran" in self.people[p].groups}
        priority = sum(1 for c in voc if c.priority)
        voc_people = {e.person for c in voc for e in c.enrolments}
        groups = Counter(g for p in voc_people for g in self.people[p].groups)
        return {
            "institutions": len(self.institutions),
            "cohorts": {f"{k}/{s}": n for (k, s), n in sorted(cohorts.items())},
            "vocational_enrolments": voc_enrolments,
            "vocational_outcomes": dict(sorted(outcomes.items())),
            "trainees_trained": len(completed_people),
            "startup_enrolments": sum(len(c.enrolments) for c in startup),
            "startup_trained": len(startup_completed),
            "priority_cohort_share": round(priority / len(voc), 3) if voc else 0.0,
            "certificates": dict(sorted(by_kind.items())),
            "skill_levels": {str(k): v for k, v in sorted(by_level.items())},
            "high_skill_holders": len(high),
            "veterans_trained": len(veterans_trained),
            "group_shares": {g: round(groups[g] / len(voc_people), 4) for g in GROUP_LABELS}
            if voc_people
            else {},
            "anomalies": self.anomalies.as_dict(),
        }


# --- helpers ---------------------------------------------------------------------------


def _largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _sizes(rng: random.Random, count: int, total: int, sigma: float, low: int, high: int) -> list[int]:
    """``count`` integer sizes in [low, high] summing exactly to ``total``, log-normally spread."""
    if count == 0:
        return []
    raw = [rng.lognormvariate(0.0, sigma) for _ in range(count)]
    sizes = [min(high, max(low, s)) for s in _largest_remainder(total, raw)]
    diff = total - sum(sizes)
    step = 1 if diff > 0 else -1
    index = 0
    while diff:
        i = index % count
        if low <= sizes[i] + step <= high:
            sizes[i] += step
            diff -= step
        index += 1
        if index > 1000 * count:
            raise ValueError(f"cannot spread {total} over {count} cohorts of {low}-{high}")
    return sizes


def _zipf_cum(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k + 1) ** exponent for k in range(n)))


def _pick(rng: random.Random, cum: Sequence[float]) -> int:
    return min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)


def _ranked(rng: random.Random, occupations: Sequence[Occupation]) -> list[Occupation]:
    """Popular occupations first (in :data:`POPULAR` order), then the trades and services in
    a seeded order, professionals (major group 2) last: they rarely run skills cohorts."""
    by_code = {o.code: o for o in occupations}
    head = [by_code[c] for c in POPULAR if c in by_code]
    rest = [o for o in sorted(occupations, key=lambda o: o.code) if o.code not in set(POPULAR)]
    rng.shuffle(rest)
    rest.sort(key=lambda o: o.code[0] in "123")  # stable: shuffled within the two blocks
    return head + rest


_PHONE_PREFIXES = ("13", "15", "18", "17", "19", "16", "14")
_PHONE_WEIGHTS = tuple(itertools.accumulate((30, 25, 25, 8, 6, 3, 3)))


def _phone(rng: random.Random) -> str:
    prefix = _PHONE_PREFIXES[_pick(rng, _PHONE_WEIGHTS)]
    return f"{prefix}{int(rng.random() * 1_000_000_000):09d}"


def name_for(id_number: str, sex: str, birth_year: int) -> str:
    """A Chinese name derived from the ID number alone, so the same number always carries
    the same name (two demo years, or two seeds, never disagree about a person)."""
    digest = int.from_bytes(hashlib.blake2b(id_number.encode(), digest_size=8).digest(), "big")
    u1 = (digest & 0xFFFF) / 65536.0
    digest >>= 16
    if digest % 400 == 0:
        surname = COMPOUND_SURNAMES[(digest >> 9) % len(COMPOUND_SURNAMES)]
    else:
        surname = SURNAMES[min(bisect.bisect(_SURNAME_CUM, u1 * _SURNAME_CUM[-1]), len(SURNAMES) - 1)]
    digest >>= 12
    young = birth_year >= 1985
    pool = (
        (GIVEN_MALE_YOUNG if young else GIVEN_MALE_OLD)
        if sex == "M"
        else (GIVEN_FEMALE_YOUNG if young else GIVEN_FEMALE_OLD)
    )
    first = pool[digest % len(pool)]
    digest //= len(pool)
    if digest % 4 == 0:  # one given character in a quarter of the names
        return surname + first
    return surname + first + pool[(digest >> 3) % len(pool)]


# --- building ----------------------------------------------------------------------------


class _People:
    """Makes people: unique valid ID numbers, names, phones, households, groups."""

    def __init__(self, rng: random.Random, year: int, reference_day: dt.date):
        self.rng = rng
        self.year = year
        self.reference_day = reference_day
        self.people: list[Person] = []
        self.numbers: set[str] = set()
        self._household_cum = list(itertools.accumulate(d.population for d in DIVISIONS))
        self._band_cum: dict[int, list[float]] = {}
        day = (
            reference_day
            if (reference_day.month, reference_day.day) != (2, 29)
            else reference_day.replace(day=28)
        )
        self._latest = {age: day.replace(year=day.year - age) for age in range(0, 100)}

    def _birth(self, bands: Sequence[tuple[int, int, float]]) -> dt.date:
        rng = self.rng
        cum = self._band_cum.get(id(bands))
        if cum is None:
            cum = self._band_cum[id(bands)] = list(itertools.accumulate(w for _, _, w in bands))
        low, high, _ = bands[_pick(rng, cum)]
        age = low + int(rng.random() * (high - low + 1))
        return self._latest[age] - dt.timedelta(days=int(rng.random() * 365))

    def household(self, near: str | None) -> str:
        if near is not None and self.rng.random() < 0.65:
            return near
        return DIVISIONS[_pick(self.rng, self._household_cum)].code

    def _address(self, household: str) -> str:
        rng = self.rng
        if rng.random() < 0.1:  # moved within the city since the number was issued
            household = DIVISIONS[_pick(rng, self._household_cum)].code
        options = RETIRED_ADDRESS_CODES.get(household)
        if options is None:
            return household
        roll = rng.random()
        for code, share in options:
            roll -= share
            if roll < 0:
                return code
        return options[-1][0]

    def make(self, household: str, *, startup: bool = False, female_share: float = 0.5) -> int:
        rng = self.rng
        while True:
            birth = self._birth(STARTUP_AGE_BANDS if startup else AGE_BANDS)
            sex = "F" if rng.random() < female_share else "M"
            sequence = int(rng.random() * 500) * 2 + (1 if sex == "M" else 0)
            number = make_number(self._address(household), birth, sequence)
            if number not in self.numbers:
                break
        self.numbers.add(number)
        age = self.reference_day.year - birth.year
        county = household in _COUNTIES
        groups: list[str] = []
        rural = rng.random() < (0.35 if county else 0.1)
        if rural:
            groups.append("rural_labour")
        if 18 <= age <= 59 and rng.random() < (0.45 if rural else 0.14):
            groups.append("migrant_worker")
        if (21 <= age <= 29 and rng.random() < (0.5 if startup else 0.3)) or (
            30 <= age <= 35 and rng.random() < 0.05
        ):
            groups.append("graduate")
        if 16 <= age <= 24 and rng.random() < 0.15:
            groups.append("unemployed_youth")
        if rng.random() < (0.08 if age >= 35 else 0.03):
            groups.append("hardship")
        if rng.random() < 0.012:
            groups.append("disabled")
        if rural and rng.random() < 0.12:
            groups.append("poverty_alleviated")
        person = Person(
            id_number=number,
            name=name_for(number, sex, birth.year),
            sex=sex,
            birth_date=birth,
            phone=_phone(rng),
            household=household,
            groups=tuple(sorted(groups)),
        )
        self.people.append(person)
        return len(self.people) - 1

    def make_veterans(self, candidates: list[int], count: int) -> None:
        """Mark ``count`` people veterans (men 20-50 first, as the veteran population is)."""
        rng = self.rng

        def fits(i: int) -> bool:
            p = self.people[i]
            age = self.reference_day.year - p.birth_date.year
            return p.sex == "M" and 20 <= age <= 50

        eligible = [i for i in candidates if fits(i)]
        others = [i for i in candidates if not fits(i)]
        chosen = rng.sample(eligible, min(count, len(eligible)))
        if len(chosen) < count:
            chosen += rng.sample(others, min(count - len(chosen), len(others)))
        for i in chosen:
            p = self.people[i]
            groups = sorted({*p.groups, "veteran"} - {"unemployed_youth"})
            self.people[i] = replace(p, groups=tuple(groups))


def _dates(rng: random.Random, first: dt.date, last_end: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """A start date with the seasonal shape, so that the cohort ends by ``last_end``."""
    days = max(1, min(days, (last_end - first).days))
    latest_start = last_end - dt.timedelta(days=days)
    month_cum = list(itertools.accumulate(MONTH_WEIGHTS))
    for _ in range(30):
        month = _pick(rng, month_cum) + 1
        if month < first.month or (first.year, month) > (latest_start.year, latest_start.month):
            continue
        start = dt.date(first.year, month, 1) + dt.timedelta(days=rng.randrange(28))
        if first <= start <= latest_start:
            return start, start + dt.timedelta(days=days)
    start = first + dt.timedelta(days=rng.randrange(max(1, (latest_start - first).days + 1)))
    return start, start + dt.timedelta(days=days)


def _hours(rng: random.Random, kind: str, level: int | None) -> int:
    if kind == "skill_level" and level is not None:
        low, high = {5: (80, 120), 4: (100, 160), 3: (140, 220), 2: (180, 280), 1: (220, 360)}[level]
    elif kind == "special_operation":
        low, high = (40, 80)
    elif kind == "special_ability":
        low, high = (40, 90)
    else:
        low, high = (40, 100)
    return int(rng.randint(low, high) // 4 * 4)


def _attended(rng: random.Random, planned: int, low: float, high: float) -> float:
    return round(planned * rng.uniform(low, high) * 2) / 2


def _certificate_kind(rng: random.Random, occupation: Occupation) -> tuple[str, int | None]:
    professional = occupation.code[0] in "123"
    roll = rng.random()
    if professional:
        return ("special_ability", None) if roll < 0.3 else ("completion", None)
    if any(word in occupation.name for word in SPECIAL_OPERATION_WORDS) and roll < 0.3:
        return "special_operation", None
    if roll < 0.10:
        return "special_ability", None
    if roll < 0.24:
        return "completion", None
    levels = [lv for lv, _ in SKILL_LEVEL_MIX]
    cum = list(itertools.accumulate(w for _, w in SKILL_LEVEL_MIX))
    return "skill_level", levels[_pick(rng, cum)]


def _institutions(
    rng: random.Random, year: int, scale: Scale, inputs: PlanInputs
) -> tuple[list[PlannedInstitution], list[int], list[int], int | None]:
    """(institutions, training keys, assessment keys, demo institution key)."""
    weights = [d.population * (1.6 if d.district else 0.8) for d in DIVISIONS]
    per_division = _largest_remainder(scale.training_institutions, weights)
    if scale.training_institutions >= len(DIVISIONS):
        for i, n in enumerate(per_division):  # every division has a provider
            if n == 0:
                per_division[i] = 1
                per_division[per_division.index(max(per_division))] -= 1
    years = (year - 1, year, year + 1)
    out: list[PlannedInstitution] = []
    brands = list(BRANDS)
    rng.shuffle(brands)
    serial = itertools.count(1)
    for division, count in zip(DIVISIONS, per_division, strict=True):
        registry_code = "410305" if division.code == "410371" else division.code
        place = (
            "洛阳"
            if division.code == "410371"
            else ("洛阳市" + division.name if division.district else division.name)
        )
        for _ in range(count):
            n = next(serial)
            brand = brands[(n - 1) % len(brands)]
            suffix, org = TRAINING_SUFFIXES[_pick(rng, list(itertools.accumulate((30, 25, 15, 12, 8, 10))))]
            out.append(
                PlannedInstitution(
                    key=len(out),
                    uscc=uscc_with_check(f"{org}{registry_code}D{year}{n:04d}"),
                    name=f"{place}{brand}{suffix}（演示）",
                    division_code=division.code,
                    kinds=("training",),
                    approved_years=years,
                )
            )
    training = list(range(len(out)))
    assessment: list[int] = []
    for i in range(scale.assessment_bodies):
        n = next(serial)
        template = ASSESSMENT_NAMES[0] if i == 0 else ASSESSMENT_NAMES[1 + (i - 1) % 3]
        brand = brands[(n + 7) % len(brands)]
        division = DIVISIONS[i % 3]
        out.append(
            PlannedInstitution(
                key=len(out),
                uscc=uscc_with_check(f"52{division.code}D{year}{n:04d}"),
                name=template.format(brand=brand) + "（演示）",
                division_code=division.code,
                kinds=("assessment",),
                approved_years=years,
            )
        )
        assessment.append(len(out) - 1)
    demo_key: int | None = None
    if inputs.demo_training_uscc:
        out.append(
            PlannedInstitution(
                key=len(out),
                uscc=inputs.demo_training_uscc,
                name="洛阳示范职业技能培训学校（演示）",
                division_code="410305",
                kinds=("training",),
                approved_years=(year,),
                existing=True,
            )
        )
        demo_key = len(out) - 1
    if inputs.demo_assessment_uscc:
        out.append(
            PlannedInstitution(
                key=len(out),
                uscc=inputs.demo_assessment_uscc,
                name="洛阳示范职业技能评价中心（演示）",
                division_code="410305",
                kinds=("assessment",),
                approved_years=(year,),
                existing=True,
            )
        )
        assessment.append(len(out) - 1)
    return out, training, assessment, demo_key


@dataclass
class _Year:
    """What every step of :func:`build_plan` draws on: the seeded generator, the window in
    which cohorts run, the institutions and the occupations with their weights."""

    rng: random.Random
    year: int
    prefix: str
    first: dt.date
    last_end: dt.date
    institutions: list[PlannedInstitution]
    training: list[int]
    demo_key: int | None
    skill_bodies: list[int]
    startup_body: int
    priority: list[Occupation]
    others: list[Occupation]
    priority_cum: list[float]
    others_cum: list[float]
    priority_share: float
    activity_cum: list[float]
    startup_runners: list[int]
    startup_cum: list[float]
    division_cum: list[float]


def _window(inputs: PlanInputs, year: int) -> tuple[dt.date, dt.date, dt.date]:
    """(the last day planned, the first start, the last end) of the demo year."""
    last_day = inputs.last_day or dt.date(year, 12, 31)
    if last_day.year != year:
        raise ValueError("the last day must be in the year")
    first = dt.date(year, 1, 3)
    last_end = min(dt.date(year, 12, 16), last_day - dt.timedelta(days=15))
    if (last_end - first).days < 90:
        raise ValueError(f"{year} has too little time left for a demo year (cohorts end by {last_end})")
    return last_day, first, last_end


def _vocational_cohorts(y: _Year, scale: Scale) -> list[Cohort]:
    rng = y.rng
    cohorts: list[Cohort] = []
    n_voc = scale.vocational_cohorts
    demo_slots = (
        set(rng.sample(range(n_voc), min(scale.demo_institution_cohorts, n_voc)))
        if y.demo_key is not None
        else set()
    )
    cancelled_slots = set(rng.sample(range(n_voc), min(scale.cancelled_cohorts, n_voc - 1)))
    issuer_cum = list(itertools.accumulate(range(len(y.skill_bodies), 0, -1)))
    for i in range(n_voc):
        inst = (
            y.demo_key
            if i in demo_slots and y.demo_key is not None
            else y.training[_pick(rng, y.activity_cum)]
        )
        on_priority = rng.random() < y.priority_share
        occupation = (
            y.priority[_pick(rng, y.priority_cum)] if on_priority else y.others[_pick(rng, y.others_cum)]
        )
        kind, level = _certificate_kind(rng, occupation)
        hours = _hours(rng, kind, level)
        weeks = min(12, max(2, round(hours / rng.uniform(18, 36))))
        start, end = _dates(rng, y.first, y.last_end, weeks * 7 - rng.randrange(3))
        home = y.institutions[inst].division_code
        division = home if rng.random() < 0.88 else DIVISIONS[_pick(rng, y.division_cum)].code
        mode_roll = rng.random()
        cohorts.append(
            Cohort(
                index=i,
                reference=f"{y.prefix}-V{i + 1:05d}",
                institution=inst,
                kind="vocational",
                name="",
                division_code=division,
                planned_hours=hours,
                start_date=start,
                end_date=end,
                capacity=0,
                occupation=occupation,
                priority=on_priority,
                certificate_kind=kind,
                certificate_level=level,
                training_mode="general"
                if mode_roll < 0.75
                else ("order_based" if mode_roll < 0.9 else "post_based"),
                delivery=rng.choices(("in_person", "blended", "online"), (80, 15, 5))[0],
                issuer=y.skill_bodies[_pick(rng, issuer_cum)],
                cancelled=i in cancelled_slots,
            )
        )
    return cohorts


def _startup_cohorts(
    y: _Year, scale: Scale, first_index: int, sequence: Counter[tuple[int, str]]
) -> list[Cohort]:
    rng = y.rng
    cohorts: list[Cohort] = []
    course_cum = list(itertools.accumulate(w for _, w, _ in STARTUP_COURSES))
    for j in range(scale.startup_cohorts):
        inst = y.startup_runners[_pick(rng, y.startup_cum)]
        course, _, base_hours = STARTUP_COURSES[_pick(rng, course_cum)]
        start, end = _dates(rng, y.first, y.last_end, 14 + rng.randrange(15))
        sequence[(inst, course)] += 1
        cohorts.append(
            Cohort(
                index=first_index + j,
                reference=f"{y.prefix}-S{j + 1:04d}",
                institution=inst,
                kind="startup",
                name=f"{y.year}年{course}（{STARTUP_NAMES[course]}）创业培训班第{sequence[(inst, course)]}期",
                division_code=y.institutions[inst].division_code,
                planned_hours=base_hours,
                start_date=start,
                end_date=end,
                capacity=0,
                startup_course=course,
                delivery=rng.choices(("in_person", "blended"), (85, 15))[0],
                issuer=y.startup_body,
            )
        )
    return cohorts


def _calibrate_levels(rng: random.Random, voc_live: list[Cohort], scale: Scale) -> None:
    """Roster sizes first (kept in ``capacity`` for now), then skill levels moved between 3
    and 4 until the expected level-3+ completions meet the scale's high-skill target."""
    sizes = _sizes(rng, len(voc_live), scale.vocational_enrolments, 0.45, 8, 200)
    for c, size in zip(voc_live, sizes, strict=True):
        c.capacity = size  # the roster size for now; capacities are set below

    def high(c: Cohort, level: int | None) -> float:
        return c.capacity * 0.9 * PASS_RATE[level] if level is not None else 0.0

    target = scale.high_skill_holders
    movable = [c for c in voc_live if c.certificate_kind == "skill_level"]
    rng.shuffle(movable)
    expected = sum(
        high(c, c.certificate_level)
        for c in voc_live
        if c.certificate_kind == "skill_level"
        and c.certificate_level is not None
        and c.certificate_level <= 3
    )
    for c in movable:
        if abs(expected - target) <= max(2.0, 0.01 * target):
            break
        assert c.certificate_level is not None
        if expected < target and c.certificate_level >= 4:
            expected += high(c, 3)
            c.certificate_level = 3
        elif expected > target and c.certificate_level == 3:
            expected -= high(c, 3)
            c.certificate_level = 4
        else:
            continue
        c.planned_hours = _hours(rng, "skill_level", c.certificate_level)


def _name_vocational(cohorts: list[Cohort], year: int, sequence: Counter[tuple[int, str]]) -> None:
    for c in cohorts:
        if c.kind == "vocational" and c.occupation is not None:
            sequence[(c.institution, c.occupation.code)] += 1
            nth = sequence[(c.institution, c.occupation.code)]
            label = (
                LEVEL_LABELS[c.certificate_level]
                if c.certificate_level
                else KIND_LABELS[c.certificate_kind or ""]
            )
            c.name = f"{year}年{c.occupation.name}（{label}）培训班第{nth}期"


def _vocational_rosters(rng: random.Random, voc_live: list[Cohort], people: _People, scale: Scale) -> None:
    for c in voc_live:
        size = c.capacity
        c.capacity = min(500, max(size, math.ceil(size * rng.uniform(1.0, 1.3))))
        completion = min(0.99, max(0.72, rng.gauss(0.9, 0.04)))
        female = (
            0.8
            if c.occupation and c.occupation.code.startswith("4-10")
            else (0.15 if c.occupation and c.occupation.code.startswith("6-") else 0.5)
        )
        for _ in range(size):
            person = people.make(people.household(c.division_code), female_share=female)
            roll = rng.random()
            if roll < completion:
                c.enrolments.append(Enrolment(person, _attended(rng, c.planned_hours, 0.9, 1.0), "completed"))
            elif roll < completion + (1 - completion) * 0.6:
                c.enrolments.append(Enrolment(person, _attended(rng, c.planned_hours, 0.1, 0.6), "withdrawn"))
            else:
                c.enrolments.append(Enrolment(person, _attended(rng, c.planned_hours, 0.8, 1.0), "failed"))
    people.make_veterans(list(range(len(people.people))), scale.veterans)


def _startup_rosters(rng: random.Random, startup_live: list[Cohort], people: _People, scale: Scale) -> None:
    sizes = _sizes(rng, len(startup_live), scale.startup_trainees, 0.25, 10, 60)
    for c, size in zip(startup_live, sizes, strict=True):
        c.capacity = min(500, size + rng.randrange(0, 6))
        for _ in range(size):
            person = people.make(people.household(c.division_code), startup=True, female_share=0.45)
            roll = rng.random()
            outcome = "completed" if roll < 0.93 else ("withdrawn" if roll < 0.98 else "failed")
            low, high = {"completed": (0.9, 1.0), "withdrawn": (0.1, 0.5), "failed": (0.7, 1.0)}[outcome]
            c.enrolments.append(Enrolment(person, _attended(rng, c.planned_hours, low, high), outcome))


def build_plan(inputs: PlanInputs, *, year: int, scale: Scale, seed: int = 1) -> Plan:
    """The whole year as plain values; the same arguments give the same plan."""
    if not inputs.priority_trades and not inputs.other_occupations:
        raise ValueError("the plan needs occupations: load the reference catalogue first")
    rng = random.Random(f"luoyang-demo:{year}:{scale.name}:{seed}")
    last_day, first, last_end = _window(inputs, year)
    tag = f"{scale.name[0].upper()}{seed}"
    institutions, training, assessment, demo_key = _institutions(rng, year, scale, inputs)
    people = _People(rng, year, dt.date(year, 7, 1))
    priority = _ranked(rng, inputs.priority_trades)
    others = _ranked(rng, inputs.other_occupations)
    # Institutions differ in size: a few large schools run many cohorts.
    activity = [rng.lognormvariate(0.0, 0.8) for _ in training]
    startup_runners = sorted(rng.sample(training, max(1, round(len(training) * 0.4))))
    y = _Year(
        rng=rng,
        year=year,
        prefix=f"DEMO-{year}-{tag}",
        first=first,
        last_end=last_end,
        institutions=institutions,
        training=training,
        demo_key=demo_key,
        skill_bodies=assessment[1:] or assessment,
        startup_body=assessment[0],
        priority=priority,
        others=others,
        priority_cum=_zipf_cum(len(priority), 0.9) if priority else [],
        others_cum=_zipf_cum(len(others), 1.05) if others else [],
        priority_share=0.58 if priority and others else (1.0 if priority else 0.0),
        activity_cum=list(itertools.accumulate(activity)),
        startup_runners=startup_runners,
        startup_cum=list(itertools.accumulate(activity[t] for t in startup_runners)),
        division_cum=list(itertools.accumulate(d.population for d in DIVISIONS)),
    )
    sequence: Counter[tuple[int, str]] = Counter()
    cohorts = _vocational_cohorts(y, scale)
    cohorts += _startup_cohorts(y, scale, len(cohorts), sequence)
    voc_live = [c for c in cohorts if c.kind == "vocational" and not c.cancelled]
    _calibrate_levels(rng, voc_live, scale)
    _name_vocational(cohorts, year, sequence)
    _vocational_rosters(rng, voc_live, people, scale)
    _startup_rosters(rng, [c for c in cohorts if c.kind == "startup"], people, scale)
    for c in cohorts:
        if c.cancelled:
            c.capacity = rng.randint(20, 50)
    showcase = next((c for c in voc_live if c.institution == demo_key and c.enrolments), None)
    anomalies = _plant_anomalies(rng, scale, voc_live, cohorts, people, last_end, showcase)
    certificates = _certify(rng, scale, cohorts, people.people, last_day, year)
    return Plan(
        year=year,
        scale=scale,
        seed=seed,
        tag=tag,
        last_day=last_day,
        institutions=institutions,
        people=people.people,
        cohorts=cohorts,
        certificates=certificates,
        anomalies=anomalies,
    )


def _overlaps(a: Cohort, b: Cohort) -> bool:
    return a.start_date <= b.end_date and b.start_date <= a.end_date


def _moved_to_overlap(rng: random.Random, b: Cohort, a: Cohort, last_end: dt.date) -> Cohort:
    """``b`` moved (same length) to start a few days after ``a`` starts."""
    length = b.end_date - b.start_date
    start = min(a.start_date + dt.timedelta(days=rng.randint(0, 3)), last_end - length)
    b.start_date, b.end_date = start, start + length
    return b


def _plant_anomalies(
    rng: random.Random,
    scale: Scale,
    voc: list[Cohort],
    cohorts: list[Cohort],
    people: _People,
    last_end: dt.date,
    showcase: Cohort | None = None,
) -> Anomalies:
    """Plant the anomalies the claims' checks find. ``showcase`` (the demo institution's
    first cohort, when there is one) gets one of each first, so that the demo institution's
    own claim shows an overlap, a shared phone and an attendance shortfall."""
    anomalies = Anomalies()
    by_start = sorted(voc, key=lambda c: c.start_date)
    # 1. The same person in two overlapping cohorts at two institutions (both completed):
    #    the second cohort's roster gives one of its places to the first cohort's person.
    #    When no cohort of another institution overlaps, one is moved to overlap.
    involved: set[int] = set()
    attempts = 0
    while len(anomalies.overlap_people) < scale.overlap_people and attempts < 200 * scale.overlap_people:
        attempts += 1
        a = showcase if showcase is not None and not anomalies.overlap_people else rng.choice(by_start)
        elsewhere = [b for b in by_start if b.institution != a.institution]
        if not elsewhere:
            break
        overlapping = [b for b in elsewhere if _overlaps(a, b)]
        b = (
            rng.choice(overlapping)
            if overlapping
            else _moved_to_overlap(rng, rng.choice(elsewhere), a, last_end)
        )
        if not _overlaps(a, b):
            continue
        in_b = {e.person for e in b.enrolments}
        mover = next(
            (e for e in a.enrolments if e.outcome == "completed" and e.person not in involved | in_b), None
        )
        slot = next(
            (k for k, e in enumerate(b.enrolments) if e.outcome == "completed" and e.person not in involved),
            None,
        )
        if mover is None or slot is None:
            continue
        b.enrolments[slot] = Enrolment(mover.person, _attended(rng, b.planned_hours, 0.9, 1.0), "completed")
        involved.update((mover.person, b.enrolments[slot].person))
        anomalies.overlap_people.append(mover.person)
        anomalies.overlap_pairs.append((a.index, b.index))
    # 2. One phone shared by many trainees across institutions (an agent's number).
    phone = _phone(rng)
    while any(p.phone == phone for p in people.people):
        phone = _phone(rng)
    anomalies.shared_phone = phone
    pool = [c for c in cohorts if not c.cancelled and c.enrolments]
    by_institution: dict[int, list[Cohort]] = {}
    for c in pool:
        by_institution.setdefault(c.institution, []).append(c)
    institution_order = list(by_institution)
    rng.shuffle(institution_order)
    chosen: set[int] = set(anomalies.overlap_people)
    if showcase is not None:
        for e in showcase.enrolments:
            if len(anomalies.shared_phone_people) >= min(2, scale.shared_phone_trainees):
                break
            if e.person not in chosen:
                chosen.add(e.person)
                people.people[e.person] = replace(people.people[e.person], phone=phone)
                anomalies.shared_phone_people.append(e.person)
    k = 0
    while (
        len(anomalies.shared_phone_people) < scale.shared_phone_trainees
        and k < 50 * scale.shared_phone_trainees
    ):
        cohort = rng.choice(by_institution[institution_order[k % len(institution_order)]])
        k += 1
        person = rng.choice(cohort.enrolments).person
        if person in chosen:
            continue
        chosen.add(person)
        people.people[person] = replace(people.people[person], phone=phone)
        anomalies.shared_phone_people.append(person)
    # 3. Completions with attendance below 80% of the planned hours.
    overlap_people = set(anomalies.overlap_people)
    order = rng.sample(voc, len(voc))
    if showcase is not None:
        order = [showcase, *(c for c in order if c is not showcase)]
    for c in order:
        if len(anomalies.attendance_shortfalls) >= scale.attendance_shortfalls:
            break
        per_cohort = 0
        for e in c.enrolments:
            if (
                e.outcome == "completed"
                and e.person not in overlap_people
                and (c is showcase or rng.random() < 0.25)
            ):
                e.attended_hours = _attended(rng, c.planned_hours, 0.45, 0.75)
                anomalies.attendance_shortfalls.append((c.index, e.person))
                per_cohort += 1
                if per_cohort >= 3 or len(anomalies.attendance_shortfalls) >= scale.attendance_shortfalls:
                    break
    return anomalies


def _certify(
    rng: random.Random,
    scale: Scale,
    cohorts: list[Cohort],
    people: list[Person],
    last_day: dt.date,
    year: int,
) -> list[Certificate]:
    """Who passes, with the level-3+ pass rates scaled so the distinct holders meet the target."""
    high = [
        (c, e)
        for c in cohorts
        if c.certificate_kind == "skill_level" and (c.certificate_level or 9) <= 3
        for e in c.enrolments
        if e.outcome == "completed"
    ]
    expected = sum(PASS_RATE[c.certificate_level or 3] for c, _ in high)
    factor = scale.high_skill_holders / expected if expected else 1.0
    factor = min(1.18, max(0.8, factor))
    quality = {c.index: rng.uniform(0.94, 1.06) for c in cohorts}
    for c in cohorts:
        for e in c.enrolments:
            if e.outcome != "completed":
                continue
            if c.kind == "startup":
                rate = OTHER_PASS_RATE["startup"]
            elif c.certificate_kind == "skill_level":
                rate = PASS_RATE[c.certificate_level or 5] * quality[c.index]
                if (c.certificate_level or 9) <= 3:
                    rate *= factor
            else:
                rate = OTHER_PASS_RATE[c.certificate_kind or "completion"]
            e.passed = rng.random() < min(0.985, rate)
    counters: Counter[str] = Counter()
    certificates: list[Certificate] = []
    for c in sorted(cohorts, key=lambda c: (c.end_date, c.index)):
        kind = "startup" if c.kind == "startup" else (c.certificate_kind or "completion")
        issue = min(last_day, c.end_date + dt.timedelta(days=rng.randint(5, 14)))
        for e in c.enrolments:
            if not e.passed:
                continue
            counters[kind] += 1
            certificates.append(
                Certificate(
                    number=f"DEMO{year}{CERTIFICATE_LETTER[kind]}{counters[kind]:07d}",
                    person=e.person,
                    cohort=c.index,
                    kind=kind,
                    issuer=c.issuer,
                    issue_date=issue,
                    occupation_code=c.occupation.code if c.occupation and kind != "startup" else None,
                    level=c.certificate_level if kind == "skill_level" else None,
                )
            )
    return certificates


# --- the roster file ---------------------------------------------------------------------

ROSTER_HEADER = ("序号", "姓名", "身份证号", "手机号", "户籍县区", "重点群体", "学时", "结果")


def roster_csv(plan: Plan, cohort: Cohort) -> bytes:
    """The cohort's roster as the institution keeps it: a title row, then the columns the
    roster parser reads (names for divisions and groups, 合格/退学/不合格 for outcomes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    inst = plan.institutions[cohort.institution]
    writer.writerow([f"{inst.name} {cohort.name} 学员花名册"])
    writer.writerow(ROSTER_HEADER)
    for n, e in enumerate(cohort.enrolments, start=1):
        p = plan.people[e.person]
        hours = f"{e.attended_hours:.1f}".removesuffix(".0")
        writer.writerow(
            [
                n,
                p.name,
                p.id_number,
                p.phone,
                DIVISION_NAMES[p.household],
                "、".join(GROUP_LABELS[g] for g in p.groups),
                hours,
                OUTCOME_LABELS[e.outcome],
            ]
        )
    return out.getvalue().encode("utf-8-sig")
