-- What is broken today, worst first, with the error and since when.
-- Parameter :business_date (DATE). Run after USE CATALOG <catalog>; USE SCHEMA <schema>;
SELECT
  flow,
  pipeline_name,
  status,
  reason,
  consecutive_ko_days AS ko_days_in_a_row,
  start_local,
  end_local,
  duration_hms,
  failure_type,
  error_message,
  detail
FROM pipeline_daily_status
WHERE business_date = :business_date
  AND status IN ('KO', 'WARNING')
ORDER BY CASE status WHEN 'KO' THEN 0 ELSE 1 END, flow, execution_order, pipeline_name;
