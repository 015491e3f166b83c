"""DM-01, DM-02 and BZ-02 written by hand in SQL, for DuckDB.

This is the benchmark's baseline and a third, independent implementation of
the three pinned definitions: the benchmark checks it agrees with the fast
engine stratum by stratum. DuckDB is a test/benchmark dependency only.
"""

from __future__ import annotations

from datetime import date

PINNED_IDS = ("BZ-02", "DM-01", "DM-02")

_SQL = """
WITH pop AS (
  SELECT patient_id, sex,
         year(DATE '{r}') - year(birth_date)
           - CASE WHEN {mmdd} < month(birth_date) * 100 + day(birth_date) THEN 1 ELSE 0 END AS age
  FROM patients
  WHERE list_start <= DATE '{r}'
    AND (list_end IS NULL OR list_end > DATE '{r}')
    AND (death_date IS NULL OR death_date > DATE '{r}')
),
active AS (
  SELECT DISTINCT patient_id, code FROM conditions
  WHERE system = 'ICPC2' AND code IN ('T90', 'T89')
    AND start_date <= DATE '{r}' AND (end_date IS NULL OR end_date > DATE '{r}')
),
dm AS (
  SELECT pop.* FROM pop
  WHERE age >= 18
    AND patient_id IN (SELECT patient_id FROM active WHERE code = 'T90')
    AND patient_id NOT IN (SELECT patient_id FROM active WHERE code = 'T89')
),
hba AS (
  SELECT patient_id, date, value FROM lab_results
  WHERE system = 'NPU' AND code = 'NPU27300'
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
            SELECT patient_id FROM prescriptions
            WHERE (starts_with(atc, 'N05CD') OR starts_with(atc, 'N05CF'))
              AND date > DATE '{r}' - INTERVAL 365 DAY AND date <= DATE '{r}'
         ))::INT AS num
  FROM pop WHERE age >= 65
)
SELECT 'DM-01' AS id, sex || ':' || band AS stratum, sum(dm01) AS num, count(*) AS den
  FROM dm_rows GROUP BY ALL
UNION ALL
SELECT 'DM-02', sex || ':' || band, sum(dm02), count(*) FROM dm_rows GROUP BY ALL
UNION ALL
SELECT 'BZ-02', sex || ':' || band, sum(num), count(*) FROM bz GROUP BY ALL
"""


def pinned_sql(reference_date: date) -> str:
    r = reference_date
    return _SQL.format(r=r.isoformat(), mmdd=r.month * 100 + r.day)


def run_pinned(con, reference_date: date) -> dict[tuple[str, str], tuple[int, int]]:
    """{(indicator id, stratum): (numerator, denominator)} for non-empty strata."""
    rows = con.execute(pinned_sql(reference_date)).fetchall()
    return {(i, s): (int(n), int(d)) for i, s, n, d in rows}
