DROP TABLE login_throttle;
DROP TABLE meter_reads;
DROP TABLE user_sessions;
