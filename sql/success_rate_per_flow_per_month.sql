-- Per flow and month: days evaluated, OK / WARNING / KO days, availability and on-time rate.
-- availability = (OK + WARNING) / days; on_time_rate = OK / days. PENDING days (not due yet) are left out.
SELECT
  flow,
  date_trunc('MONTH', business_date) AS month,
  count(*) AS days,
  count_if(status = 'OK') AS ok_days,
  count_if(status = 'WARNING') AS warning_days,
  count_if(status = 'KO') AS ko_days,
  round(count_if(status IN ('OK', 'WARNING')) / count(*), 4) AS availability,
  round(count_if(status = 'OK') / count(*), 4) AS on_time_rate,
  max(consecutive_ko_days) AS longest_ko_streak,
  round(avg(duration_seconds) / 60, 1) AS mean_duration_minutes
FROM flow_daily_status
WHERE status <> 'PENDING'
GROUP BY flow, date_trunc('MONTH', business_date)
ORDER BY month DESC, flow;
