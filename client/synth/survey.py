"""Synthetic patient-experience answers (issue 16): the `survey_responses` table.

Realistic enough to make a report worth reading and a benchmark honest:
- each year about 10 % of the adults listed on the day they answer respond
  (national patient-experience surveys of general practice get 10-40 %);
- a practice differs from another by a random intercept per domain on the
  logit of a top-box answer (sd 0.45, so the middle 95 % of practices span
  about 20 percentage points of top-box share), and respondents differ by
  their own intercept (sd 0.9), shared across their items;
- coordination items apply only to respondents who were in contact with the
  hospital (Q08, Q09) or the municipality (Q10), more often when older; any
  rated item is skipped now and then (about 3 %);
- about 8 % of respondents write a free-text comment (Danish);
- with `errors`, a few bad rows exercise each skip rule of
  `client.extract.survey_rules` (off by default: a demo's practice is clean).

The answers link to the patient (`patient`), as a survey sent out by the
practice would; the respondent pseudonym is new for each year's survey.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from client.synth.days import DAYS_PER_YEAR, from_day, to_day
from indicator_defs.survey_model import ItemKind, Survey

RESPONSE_RATE = 0.10
SURVEY_YEARS = 2  # the survey started two years before the reference date
PRACTICE_SD = 0.45  # random intercept per domain, logit scale
RESPONDENT_SD = 0.9
ITEM_SKIPPED = 0.03
COMMENT_SHARE = 0.08
# logit of the top-box share of a typical practice per domain (about 70, 85, 75, 55 %)
DOMAIN_LOGIT = {"access": 0.85, "communication": 1.75, "involvement": 1.1, "coordination": 0.2}
TOP_ANSWER = 0.55  # among top-box answers, the share of the very top (5)
LOWER_ANSWERS = np.array([0.2, 0.3, 0.5])  # among the others: 1, 2, 3
COMMENTS = (
    "Det er svært at komme igennem på telefonen om morgenen.",
    "Meget søde og hjælpsomme sekretærer.",
    "Lægen tager sig altid god tid til at forklare.",
    "Jeg ville ønske, at man kunne booke tider online længere frem.",
    "Efter min indlæggelse vidste lægen ikke, hvad sygehuset havde besluttet.",
    "Hjemmeplejen og lægen taler ikke sammen om min medicin.",
    "Venteværelset er for lille, når der er mange.",
    "Tak for en god behandling gennem mange år.",
)


def draw_survey_responses(
    rng: np.random.Generator,
    patients: pd.DataFrame,
    survey: Survey,
    reference: date,
    *,
    errors: bool = False,
) -> pd.DataFrame:
    """The practice's answers to `survey` for the years up to `reference`, in date order."""
    effect = {d: rng.normal(0.0, PRACTICE_SD) for d in DOMAIN_LOGIT}
    birth = _days(patients["birth_date"])
    start = _days(patients["list_start"])
    end = _days(patients["list_end"])
    death = _days(patients["death_date"])
    ref = to_day(reference)
    years = []
    for k in range(SURVEY_YEARS):
        first, last = ref - round((k + 1) * DAYS_PER_YEAR) + 1, ref - round(k * DAYS_PER_YEAR)
        day = rng.integers(first, last + 1, len(patients))
        listed = (start <= day) & ~(end <= day) & ~(death <= day)
        adult = (day - birth) >= 18 * DAYS_PER_YEAR
        answers = listed & adult & (rng.random(len(patients)) < RESPONSE_RATE)
        who = np.flatnonzero(answers)
        age = (day[who] - birth[who]) / DAYS_PER_YEAR
        block = _answers(rng, survey, effect, who, day[who], age)
        number = {row: i + 1 for i, row in enumerate(who.tolist())}
        label = f"S{from_day(last).year}"  # the wave, by the year it ends
        block["respondent"] = [f"{label}-{number[r]:05d}" for r in block["row"].tolist()]
        years.append(block)
    frame = pd.concat(years, ignore_index=True)
    frame["patient"] = patients["patient_id"].to_numpy()[frame.pop("row").to_numpy()]
    if errors:
        frame = pd.concat([frame, _bad_rows(frame)], ignore_index=True)
    frame = frame.sort_values(["date", "respondent"], kind="stable", ignore_index=True)
    return _typed(frame)


def _answers(
    rng: np.random.Generator,
    survey: Survey,
    effect: dict[str, float],
    who: np.ndarray,
    day: np.ndarray,
    age: np.ndarray,
) -> pd.DataFrame:
    n = len(who)
    person = rng.normal(0.0, RESPONDENT_SD, n)
    hospital = rng.random(n) < np.clip(0.2 + 0.006 * (age - 18), 0.2, 0.6)
    municipality = rng.random(n) < np.clip(0.05 + 0.006 * (age - 40), 0.05, 0.45)
    applies = {"Q08": hospital, "Q09": hospital, "Q10": municipality}
    parts = []
    for item in survey.items.values():
        if item.kind is ItemKind.FREE_TEXT:
            writes = rng.random(n) < COMMENT_SHARE
            comment = np.array(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), n)]
            parts.append(_rows(survey, item.id, who, day, np.full(n, np.nan), comment, writes))
            continue
        logit = DOMAIN_LOGIT[item.domain] + effect[item.domain] + person
        top = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
        answer = np.where(
            top,
            np.where(rng.random(n) < TOP_ANSWER, 5.0, 4.0),
            rng.choice(np.array([1.0, 2.0, 3.0]), size=n, p=LOWER_ANSWERS),
        )
        asked = applies.get(item.id, np.ones(n, bool)) & (rng.random(n) >= ITEM_SKIPPED)
        parts.append(_rows(survey, item.id, who, day, answer, np.full(n, None), asked))
    return pd.concat(parts, ignore_index=True)


def _rows(
    survey: Survey,
    item: str,
    who: np.ndarray,
    day: np.ndarray,
    answer: np.ndarray,
    text: np.ndarray,
    keep: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": who[keep],
            "survey": survey.id,
            "version": float(survey.version),
            "item": item,
            "answer": answer[keep],
            "date": pd.to_datetime(day[keep], unit="D"),
            "text": text[keep],
        }
    )


def _bad_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row breaking each skip rule, copied from real rows so only the broken cell differs."""
    rated = frame[frame["answer"].notna()]
    if len(rated) < 4:
        return frame.iloc[0:0]
    out_of_scale, unknown, twice, later = (rated.iloc[[i]].copy() for i in range(4))
    out_of_scale["answer"] = 6.0
    unknown["item"] = "Q12"
    later["date"] = later["date"] + pd.Timedelta(days=30)
    return pd.concat([out_of_scale, unknown, twice, later])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The Extract form: schema order, str text, float decimals, datetime64[us] dates."""
    columns = ["respondent", "survey", "version", "item", "answer", "date", "text", "patient"]
    out = frame[columns].copy()
    for name in ("respondent", "survey", "item", "text", "patient"):
        out[name] = out[name].astype("str")
    out["date"] = out["date"].astype("datetime64[us]")
    return out


def _days(series: pd.Series) -> np.ndarray:
    """Day numbers; a missing date as a day after every real one."""
    days = series.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(series.isna().to_numpy(), np.iinfo(np.int64).max, days)
