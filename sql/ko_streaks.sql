-- Pipelines and flows KO for several days in a row, as of their latest evaluated date.
-- Parameter :min_days (INT), e.g. 2.
WITH latest AS (
  SELECT 'pipeline' AS level, flow, pipeline_name AS name, business_date, status, consecutive_ko_days, detail,
         row_number() OVER (PARTITION BY pipeline_name ORDER BY business_date DESC) AS newest
  FROM pipeline_daily_status
  UNION ALL
  SELECT 'flow' AS level, flow, flow AS name, business_date, status, consecutive_ko_days, detail,
         row_number() OVER (PARTITION BY flow ORDER BY business_date DESC) AS newest
  FROM flow_daily_status
)
SELECT level, flow, name, business_date AS last_date, consecutive_ko_days AS ko_days_in_a_row,
       date_sub(business_date, consecutive_ko_days - 1) AS first_date_of_streak_at_the_earliest, detail
FROM latest
WHERE newest = 1 AND status = 'KO' AND consecutive_ko_days >= :min_days
ORDER BY consecutive_ko_days DESC, level, name;
