-- One pipeline's last 30 evaluated days: status, timing and duration against its baseline.
-- Parameters :pipeline_name (STRING), :business_date (DATE, the last day shown).
SELECT
  business_date,
  status,
  reason,
  start_local,
  end_local,
  duration_hms,
  round(baseline_duration_seconds / 60, 1) AS baseline_minutes,
  duration_ratio,
  run_count,
  failed_run_count,
  error_message
FROM pipeline_daily_status
WHERE pipeline_name = :pipeline_name
  AND business_date > date_sub(:business_date, 30)
  AND business_date <= :business_date
ORDER BY business_date DESC;
