"""Nine indicators written by hand in SQL, for DuckDB.

This is the benchmark's baseline and a third, independent implementation:
DM-01, DM-02 and BZ-02 (lab values, prefix matching, ages) and the six that
need episodes, days covered or deaths (AB-04, AB-05, MH-02, OP-01, OP-02,
PAL-01). The SQL follows the written definitions (`docs/indicators.md`), not
the engines' code: days covered are counted by expanding each supply into
its days, where the fast engine sweeps over interval ends and the reference
evaluator tests every day of the window against every prescription. The
benchmark checks all three agree stratum by stratum. DuckDB is a
test/benchmark dependency only.
"""

from __future__ import annotations

from datetime import date

from client.engine.result import PracticeResult
from client.extract.schema import TABLES
from client.extract.tables import Extract

PINNED_IDS = (
    "AB-04",
    "AB-05",
    "BZ-02",
    "DM-01",
    "DM-02",
    "MH-02",
    "OP-01",
    "OP-02",
    "PAL-01",
)

# Day numbers (days since 1970-01-01) make every window a plain integer comparison.
_SQL = """
WITH people AS (
  SELECT patient_id, sex,
         CAST(list_start AS DATE) - DATE '1970-01-01' AS list_start,
         CAST(list_end AS DATE) - DATE '1970-01-01' AS list_end,
         CAST(death_date AS DATE) - DATE '1970-01-01' AS death,
         year(DATE '{r}') - year(birth_date)
           - CASE WHEN {mmdd} < month(birth_date) * 100 + day(birth_date) THEN 1 ELSE 0 END AS age
  FROM patients
),
pop AS (
  SELECT * FROM people
  WHERE list_start <= {rd} AND (list_end IS NULL OR list_end > {rd})
    AND (death IS NULL OR death > {rd})
),
cond AS (
  SELECT patient_id, system, code, CAST(start_date AS DATE) - DATE '1970-01-01' AS d,
         CAST(end_date AS DATE) - DATE '1970-01-01' AS e
  FROM conditions
),
rx AS (
  SELECT patient_id, atc, CAST(date AS DATE) - DATE '1970-01-01' AS d,
         -- days' supply, else the DDD stand-in (one DDD a day), else nothing;
         -- day d + k is covered for whole k < supply
         greatest(CAST(ceil(coalesce(days_supply, ddd, 0)) AS BIGINT), 0) AS supply
  FROM prescriptions
),
enc AS (
  SELECT patient_id, service_code, CAST(date AS DATE) - DATE '1970-01-01' AS d FROM encounters
),
active AS (
  SELECT DISTINCT patient_id, code FROM cond
  WHERE system = 'ICPC2' AND code IN ('T90', 'T89') AND d <= {rd} AND (e IS NULL OR e > {rd})
),
dm AS (
  SELECT pop.* FROM pop
  WHERE age >= 18
    AND patient_id IN (SELECT patient_id FROM active WHERE code = 'T90')
    AND patient_id NOT IN (SELECT patient_id FROM active WHERE code = 'T89')
),
hba AS (
  SELECT patient_id, date, value FROM lab_results
  WHERE ((system = 'NPU' AND code = 'NPU27300') OR (system = 'LOCAL' AND code = 'AAB00092'))
    AND date > DATE '{r}' - INTERVAL 365 DAY AND date <= DATE '{r}'
),
measured AS (SELECT DISTINCT patient_id FROM hba),
latest AS (
  SELECT patient_id, value FROM (
    SELECT patient_id, value,
           row_number() OVER (PARTITION BY patient_id ORDER BY date DESC, value DESC) AS rn
    FROM hba WHERE value IS NOT NULL
  ) WHERE rn = 1
),
dm_rows AS (
  SELECT dm.sex,
         CASE WHEN age >= 80 THEN '80+' WHEN age >= 65 THEN '65-79'
              WHEN age >= 40 THEN '40-64' ELSE '18-39' END AS band,
         (m.patient_id IS NOT NULL)::INT AS dm01,
         coalesce(l.value <= 53, false)::INT AS dm02
  FROM dm
  LEFT JOIN measured m USING (patient_id)
  LEFT JOIN latest l USING (patient_id)
),
bz AS (
  SELECT pop.sex,
         CASE WHEN age >= 85 THEN '85+' WHEN age >= 75 THEN '75-84' ELSE '65-74' END AS band,
         (pop.patient_id IN (
            SELECT patient_id FROM rx
            WHERE (starts_with(atc, 'N05CD') OR starts_with(atc, 'N05CF'))
              AND d > {rd} - 365 AND d <= {rd}
         ))::INT AS num
  FROM pop WHERE age >= 65
),
-- AB-04 / AB-05: infection episodes, one per distinct date, in the 365 days ending
-- 3 days before R, new after 28 days without the code while on the list
infection AS (
  SELECT DISTINCT c.patient_id, c.code, c.d AS a FROM cond c
  WHERE c.system = 'ICPC2' AND c.code IN ('U71', 'R74')
    AND c.d > {rd} - 3 - 365 AND c.d <= {rd} - 3
),
infection_new AS (
  SELECT i.* FROM infection i JOIN people p USING (patient_id)
  WHERE p.list_start <= i.a - 28
    AND NOT EXISTS (
      SELECT 1 FROM cond c
      WHERE c.patient_id = i.patient_id AND c.system = 'ICPC2' AND c.code = i.code
        AND c.d >= i.a - 28 AND c.d < i.a)
),
infection_rx AS (
  SELECT i.patient_id, i.code,
    EXISTS (SELECT 1 FROM rx WHERE rx.patient_id = i.patient_id AND starts_with(rx.atc, 'J01')
            AND rx.d BETWEEN i.a - 3 AND i.a + 3) AS j01_around,
    EXISTS (SELECT 1 FROM rx WHERE rx.patient_id = i.patient_id
            AND (starts_with(rx.atc, 'J01CA08') OR starts_with(rx.atc, 'J01EB02')
                 OR starts_with(rx.atc, 'J01XE01') OR starts_with(rx.atc, 'J01EA01'))
            AND rx.d BETWEEN i.a - 3 AND i.a + 3) AS first_line_around,
    EXISTS (SELECT 1 FROM rx WHERE rx.patient_id = i.patient_id AND starts_with(rx.atc, 'J01')
            AND rx.d BETWEEN i.a AND i.a + 3) AS j01_after
  FROM infection_new i
),
ab04 AS (
  SELECT pop.sex, CASE WHEN age >= 40 THEN '40+' ELSE '18-39' END AS band,
         least(count(*) FILTER (WHERE j01_around AND first_line_around), 2) AS num,
         least(count(*) FILTER (WHERE j01_around), 2) AS den
  FROM pop JOIN infection_rx i USING (patient_id)
  WHERE i.code = 'U71' AND pop.sex = 'F' AND age BETWEEN 18 AND 64
  GROUP BY pop.patient_id, pop.sex, age
),
ab05 AS (
  SELECT pop.sex,
         CASE WHEN age >= 80 THEN '80+' WHEN age >= 65 THEN '65-79'
              WHEN age >= 15 THEN '15-64' ELSE '0-14' END AS band,
         least(count(*) FILTER (WHERE j01_after), 2) AS num, least(count(*), 2) AS den
  FROM pop JOIN infection_rx i USING (patient_id)
  WHERE i.code = 'R74'
  GROUP BY pop.patient_id, pop.sex, age
),
-- MH-02: antidepressant starts in the 365 days ending 42 days before R, none (and on
-- the list) in the 365 days before; a GP contact 14-42 days after
ad AS (SELECT patient_id, d FROM rx WHERE starts_with(atc, 'N06A')),
ad_start AS (
  SELECT DISTINCT s.patient_id, s.d AS a FROM ad s JOIN people p USING (patient_id)
  WHERE s.d > {rd} - 42 - 365 AND s.d <= {rd} - 42 AND p.list_start <= s.d - 365
    AND NOT EXISTS (
      SELECT 1 FROM ad e WHERE e.patient_id = s.patient_id AND e.d >= s.d - 365 AND e.d < s.d)
),
ad_followed AS (
  SELECT s.patient_id,
         EXISTS (SELECT 1 FROM enc WHERE enc.patient_id = s.patient_id
                 AND enc.service_code IN ('0101', '0201', '0105', '0125')
                 AND enc.d BETWEEN s.a + 14 AND s.a + 42) AS seen
  FROM ad_start s
),
mh02 AS (
  SELECT pop.sex,
         CASE WHEN age >= 65 THEN '65+' WHEN age >= 40 THEN '40-64' ELSE '18-39' END AS band,
         least(count(*) FILTER (WHERE seen), 1) AS num, least(count(*), 1) AS den
  FROM pop JOIN ad_followed s USING (patient_id)
  WHERE age >= 18
  GROUP BY pop.patient_id, pop.sex, age
),
-- OP-01 / OP-02: every covered day of the window, one row per (patient, drug group, day)
covered AS (
  SELECT DISTINCT patient_id,
         CASE WHEN starts_with(atc, 'N02A') THEN 'opioid' ELSE 'benzo' END AS drug,
         unnest(range(greatest(d, {rd} - 364), least(d + supply, {rd} + 1))) AS day
  FROM rx
  WHERE (starts_with(atc, 'N02A') OR starts_with(atc, 'N05BA') OR starts_with(atc, 'N05CD')
         OR starts_with(atc, 'N05CF'))
    AND d + supply > {rd} - 364 AND d <= {rd}
),
opioid_days AS (
  SELECT patient_id, count(*) AS days FROM covered WHERE drug = 'opioid' GROUP BY patient_id
),
both_days AS (
  SELECT o.patient_id, count(*) AS days
  FROM covered o JOIN covered b ON b.patient_id = o.patient_id AND b.day = o.day
  WHERE o.drug = 'opioid' AND b.drug = 'benzo'
  GROUP BY o.patient_id
),
cancer AS (
  SELECT patient_id, d FROM cond
  WHERE (system = 'ICPC2' AND code IN (
           'A79', 'B72', 'B73', 'B74', 'D74', 'D75', 'D76', 'D77', 'L71', 'N74', 'R84', 'R85',
           'S77', 'T71', 'U75', 'U76', 'U77', 'W72', 'X75', 'X76', 'X77', 'Y77', 'Y78'))
     OR (system = 'ICD10' AND regexp_matches(replace(code, '.', ''), '^C([0-8][0-9]|9[0-7])'))
),
adult_bands AS (
  SELECT pop.patient_id, pop.sex,
         CASE WHEN age >= 80 THEN '80+' WHEN age >= 65 THEN '65-79'
              WHEN age >= 40 THEN '40-64' ELSE '18-39' END AS band
  FROM pop WHERE age >= 18
),
op01 AS (
  SELECT a.sex, a.band, (coalesce(o.days, 0) >= 90)::INT AS num
  FROM adult_bands a LEFT JOIN opioid_days o USING (patient_id)
  WHERE a.patient_id NOT IN (SELECT patient_id FROM cancer WHERE d <= {rd})
),
op02 AS (
  SELECT a.sex, a.band, (coalesce(b.days, 0) >= 14)::INT AS num
  FROM adult_bands a LEFT JOIN both_days b USING (patient_id)
  WHERE a.patient_id IN (
    SELECT patient_id FROM rx WHERE starts_with(atc, 'N02A') AND d > {rd} - 365 AND d <= {rd})
),
-- PAL-01: died in the last 365 days while listed (a list ending on the day of death
-- counts), cancer recorded by then; a home visit in the 30 days up to the death
deceased AS (
  SELECT * FROM people
  WHERE death > {rd} - 365 AND death <= {rd}
    AND list_start <= death AND (list_end IS NULL OR list_end >= death)
    AND EXISTS (SELECT 1 FROM cancer c WHERE c.patient_id = people.patient_id AND c.d <= death)
),
pal01 AS (
  SELECT sex, CASE WHEN age >= 80 THEN '80+' WHEN age >= 65 THEN '65-79' ELSE '0-64' END AS band,
         EXISTS (SELECT 1 FROM enc WHERE enc.patient_id = deceased.patient_id
                 AND enc.service_code = '0411'
                 AND enc.d > deceased.death - 30 AND enc.d <= deceased.death)::INT AS num
  FROM deceased
)
SELECT 'DM-01' AS id, sex || ':' || band AS stratum, sum(dm01) AS num, count(*) AS den
  FROM dm_rows GROUP BY ALL
UNION ALL
SELECT 'DM-02', sex || ':' || band, sum(dm02), count(*) FROM dm_rows GROUP BY ALL
UNION ALL
SELECT 'BZ-02', sex || ':' || band, sum(num), count(*) FROM bz GROUP BY ALL
UNION ALL
SELECT 'AB-04', sex || ':' || band, sum(num), sum(den) FROM ab04 WHERE den > 0 GROUP BY ALL
UNION ALL
SELECT 'AB-05', sex || ':' || band, sum(num), sum(den) FROM ab05 GROUP BY ALL
UNION ALL
SELECT 'MH-02', sex || ':' || band, sum(num), sum(den) FROM mh02 GROUP BY ALL
UNION ALL
SELECT 'OP-01', sex || ':' || band, sum(num), count(*) FROM op01 GROUP BY ALL
UNION ALL
SELECT 'OP-02', sex || ':' || band, sum(num), count(*) FROM op02 GROUP BY ALL
UNION ALL
SELECT 'PAL-01', sex || ':' || band, sum(num), count(*) FROM pal01 GROUP BY ALL
"""


def pinned_sql(reference_date: date) -> str:
    r = reference_date
    return _SQL.format(r=r.isoformat(), rd=(r - date(1970, 1, 1)).days, mmdd=r.month * 100 + r.day)


Cells = dict[tuple[str, str], tuple[int, int]]


def load_tables(con, extract: Extract) -> None:
    """Copy the extract's frames into native DuckDB tables named as in the schema."""
    for table in TABLES:
        frame = extract.table(table.name)  # noqa: F841 - read by DuckDB's replacement scan
        con.execute(f"CREATE OR REPLACE TABLE {table.name} AS SELECT * FROM frame")


def run_pinned(con, reference_date: date) -> Cells:
    """{(indicator id, stratum): (numerator, denominator)} for non-empty strata."""
    rows = con.execute(pinned_sql(reference_date)).fetchall()
    return {(i, s): (int(n), int(d)) for i, s, n, d in rows if d}


def engine_cells(result: PracticeResult) -> Cells:
    """An engine's result in the same form, for a stratum-by-stratum comparison."""
    return {
        (ic.indicator_id, s.stratum): (s.numerator, s.denominator)
        for ic in result.indicators
        for s in ic.strata
        if s.denominator
    }
