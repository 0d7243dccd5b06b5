"""The policy reference for people (docs/subsidy-policy.md), generated from a policy document
so that it cannot drift from what the calculator computes with (``registry policy-doc CODE``)."""

from __future__ import annotations

from registry.subsidy.policy import Policy, Sourced

LEVEL_NAMES = {5: "初级工", 4: "中级工", 3: "高级工", 2: "技师", 1: "高级技师"}

CALCULATOR_NOTES = """\
## How a line is computed

Implemented by `registry/subsidy/rules.py` (pure: plain facts in, lines out), used by the
calculator (`POST /api/v1/subsidy/evaluate`, docs/calculator.md) and by the claims engine
(`evaluate_batch`), so every yuan is computed by the same code.

1. **Policy**: the policy in force on the cohort's **end** date (inclusive periods; none in force
   is an error naming the date, never a default).
2. **Base**: from the tables above, for the cohort's target (its certificate kind and level, or its
   startup course); special operation uses the renewal amount when the certificate is a renewal;
   completion counts the attended hours, at most the planned hours, then the cap. A base that is
   not whole yuan is rounded to whole yuan, half up.
3. **Uplift**: `base x (sum of the percent of each uplift that matches) / 100`; an uplift matches
   the cohort kinds it applies to and, where it says so, the priority list in force on the
   cohort's **start** date. Never on an assessment line.
4. **Total**: `base + uplift`, rounded to whole yuan, half up, in fen (Decimal/fraction
   arithmetic: no floats). `uplift_fen` is reported as `total_fen - base_fen`.
5. **Rules**: every rule of the table above that applies to the line adds a flag with the
   document's severity; the line's outcome is `blocked` with any `block` flag, `review` with only
   `review` flags, else `clean`. The amounts are computed either way.

Every step is written to the line's trace (`rule`, `inputs`, `result`; a rule's result is
`pass`, `flag` or `not_applicable`).

Decided where the design is silent:

- **Which rules judge which line.** Training line: all the calculator rules that fit its kind
  (HOURS_MINIMUM, NO_CERTIFICATE, SAME_LEVEL_REPEAT and LOWER_LEVEL for vocational cohorts,
  LOWER_LEVEL only with a skill level, STARTUP_REPEAT for startup cohorts). Assessment line:
  AGE_RANGE, ASSESSOR_NOT_APPROVED, NO_CERTIFICATE, CERT_NOT_VALID, CERT_WINDOW, CLAIM_WINDOW
  and SAME_LEVEL_REPEAT against the assessment grants (the cap counts training grants).
- **NO_CERTIFICATE / CERT_NOT_VALID.** NO_CERTIFICATE fires when there is no certificate or it is
  not of the cohort's occupation, kind and level (a completion certificate without an occupation
  fits any); a fitting certificate that is suspended or revoked is CERT_NOT_VALID: one flag per
  fault.
- **A line's date** is its certificate's issue date, else the cohort's end date: its year counts
  for ANNUAL_CAP, and CLAIM_WINDOW runs from it. "More than 12 months" is calendar months (a
  certificate of 2024-02-29 may be claimed until 2025-02-28).
- **Repeats (SAME_LEVEL_REPEAT).** Once ever per person: a skill level of an occupation at a
  level; a level-less subsidy of a certificate kind and occupation (special ability, a
  special-operation first certificate, completion: completion and special ability of one
  occupation are two subsidies); a special-operation renewal once per renewal certificate. One
  certificate backs at most one training grant and one assessment grant. The assessment line's
  repeats are judged at compute against the assessment grants.
- **Rules after this document.** ASSESSOR_NOT_APPROVED (block: the assessment body is not
  approved for the year, or suspended) and PRIORITY_LIST_UNCONFIRMED (review: the uplift comes
  from a priority-trade list the bureau has not published or confirmed) apply with those
  severities to a published document that does not list them (a published policy never changes).
- **The history** (`kind`: `vocational` or `startup`, the kind of cohort the grant was for;
  `certificate_kind`, and `is_renewal` for a special-operation renewal) and
  the earlier lines of the same batch (by line date, then the ID blind index; a blocked line is
  never granted, a review line is counted as if approved) are what repeats and the cap count.
- **Publishing.** A published policy never changes; periods are inclusive and never overlap, so
  an open-ended policy (`effective_to: null`, as henan-2022) must be the last one. A successor
  policy needs an end date for its predecessor, which cannot be edited: the bureau's procedure for
  that (a new code for the remaining period of the old one, or a successor that supersedes) is
  still to be decided.
- **Direct recognition** pays the policy's share (50%) of the assessment amount, rounded to whole
  yuan half up.
"""


def yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole:,}" + (f".{cents:02d}" if cents else "")


def _source(value: Sourced) -> str:
    parts = []
    if value.source:
        parts.append(value.source)
    if value.assumed:
        parts.append("*assumed*")
    text = "; ".join(parts)
    if value.note:
        text += f" ({value.note})"
    return text.replace("|", "\\|")


def render_policy(policy: Policy) -> str:
    """The Markdown reference of one policy."""
    t, a, limits = policy.training, policy.assessment, policy.limits
    out: list[str] = [
        f"# Subsidy policy `{policy.code}`",
        "",
        f"Generated by `registry policy-doc {policy.code}` from "
        f"`registry/catalogue/policies/{policy.code}.yaml`; do not edit by hand "
        "(tests/registry/subsidy/test_doc.py compares the two).",
        "",
        f"**{policy.title}**",
        "",
        f"- in force: {policy.effective_from.isoformat()} to "
        f"{policy.effective_to.isoformat() if policy.effective_to else 'open (no end date)'} (inclusive)",
        f"- sources: {policy.source_note}",
        "- amounts are stored in integer fen (分) in the document; shown here in yuan per person",
        "- *assumed*: not found in a published document; the bureau's to set",
        "",
        "## Training subsidies (the training line)",
        "",
        "| what | amount (yuan) | fen | source |",
        "|---|---|---|---|",
    ]
    for level in sorted(t.skill_level, key=lambda e: -e.level):
        out.append(
            f"| skill level {level.level} ({LEVEL_NAMES[level.level]}) | {yuan(level.amount_fen)} | "
            f"{level.amount_fen} | {_source(level)} |"
        )
    sa, so, c = t.special_ability, t.special_operation, t.completion
    out += [
        f"| special ability (专项职业能力), cohort >= {sa.min_hours} hours | {yuan(sa.amount_fen)} | "
        f"{sa.amount_fen} | {_source(sa)} |",
        f"| special operation (特种作业), first issue | {yuan(so.first_fen)} | {so.first_fen} | {_source(so)} |",
        f"| special operation, renewal | {yuan(so.renewal_fen)} | {so.renewal_fen} | {_source(so)} |",
        f"| completion (培训合格), per attended hour (at most the planned hours), cohort >= {c.min_hours} hours "
        f"| {yuan(c.per_hour_fen)} | {c.per_hour_fen} | {_source(c)} |",
        f"| completion, cap | {yuan(c.cap_fen)} | {c.cap_fen} | {_source(c)} |",
    ]
    for course in t.startup:
        out.append(
            f"| startup {course.course} | {yuan(course.amount_fen)} | {course.amount_fen} | {_source(course)} |"
        )
    out += [
        "",
        "## Assessment subsidies (the assessment line, to the assessment body; no uplift)",
        "",
        "| what | amount (yuan) | fen | source |",
        "|---|---|---|---|",
    ]
    for level in sorted(a.skill_level, key=lambda e: -e.level):
        out.append(
            f"| skill level {level.level} ({LEVEL_NAMES[level.level]}) | {yuan(level.amount_fen)} | "
            f"{level.amount_fen} | {_source(level)} |"
        )
    out += [
        f"| special ability | {yuan(a.special_ability.amount_fen)} | {a.special_ability.amount_fen} | "
        f"{_source(a.special_ability)} |",
        f"| direct recognition (直接认定) | {a.direct_recognition.percent}% of the amount | | "
        f"{_source(a.direct_recognition)} |",
        "",
        "## Uplifts",
        "",
        "| code | what | percent | applies to | when | source |",
        "|---|---|---|---|---|---|",
    ]
    for u in policy.uplifts:
        when = []
        if u.priority_trade is not None:
            when.append(
                "the occupation is on the priority list in force on the cohort's start date"
                if u.priority_trade
                else "the occupation is not on the priority list"
            )
        if u.training_modes is not None:
            when.append("training mode " + " or ".join(str(m) for m in u.training_modes))
        out.append(
            f"| `{u.code}` | {u.title} | +{u.percent}% of the base | "
            f"{', '.join(str(k) for k in u.applies_to)} training lines | {'; '.join(when) or 'always'} | "
            f"{_source(u)} |"
        )
    out += [
        "",
        "## Limits",
        "",
        "| limit | value | source |",
        "|---|---|---|",
        f"| age on the cohort's start date (AGE_RANGE) | {limits.age.min_age}-{limits.age.max_age} | "
        f"{_source(limits.age)} |",
        f"| attendance, share of the planned hours (ATTENDANCE) | >= {limits.attendance.percent}% | "
        f"{_source(limits.attendance)} |",
        f"| training grants a year (ANNUAL_CAP) | {limits.annual_cap.count} | {_source(limits.annual_cap)} |",
        f"| certificate issued after the cohort ended (CERT_WINDOW) | <= {limits.certificate_window.months} "
        f"months | {_source(limits.certificate_window)} |",
        f"| claim after the certificate date (CLAIM_WINDOW) | <= {limits.claim_window.months} months | "
        f"{_source(limits.claim_window)} |",
        "",
        "## Rules",
        "",
        "`block`: never payable; `review`: payable after an auditor approves it with a reason. "
        "`calculator` rules are judged from plain facts (registry/subsidy/rules.py); `claims` rules need "
        "the database and are judged by the claims engine.",
        "",
        "| code | severity | applies in | rule | source |",
        "|---|---|---|---|---|",
    ]
    for rule in policy.rules:
        out.append(
            f"| `{rule.code}` | {rule.severity} | {rule.applies_in} | {rule.title} | {_source(rule)} |"
        )
    out += ["", "## Decided details", ""]
    out += [f"- {decision}" for decision in policy.decisions]
    out += ["", CALCULATOR_NOTES]
    return "\n".join(out).rstrip("\n") + "\n"
