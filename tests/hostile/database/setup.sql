-- Tables of a small client's database (PostgreSQL), as CRM and BI exports name them.
CREATE SCHEMA sales;
CREATE TABLE sales.opportunities ("Opportunity ID" text, "Account ID" text, "Close Date" date,
                                  "Amount" numeric(12, 2), "Lead Source" text);
INSERT INTO sales.opportunities VALUES
  ('0065g00000AbCdE1', '0015g00000XyZaB1', '2024-01-15', 1200.00, 'Web'),
  ('0065g00000AbCdE2', '0015g00000XyZaB1', '2024-03-02', 340.50, 'Partner Referral'),
  ('0065g00000AbCdE3', '0015g00000XyZaB2', '2024-02-20', 980.00, 'Web'),
  ('0065g00000AbCdE4', '0015g00000XyZaB2', '2024-06-30', 410.00, 'Web'),
  ('0065g00000AbCdE5', '0015g00000XyZaB3', '2024-04-11', 77.25, 'Trade Show');
CREATE TABLE sales.bad_amounts (customer_id text, date text, amount text);
INSERT INTO sales.bad_amounts VALUES ('C1', '2024-01-02', '10.00'), ('C2', '2024-01-03', 'ten');
CREATE TABLE sales.empty_orders (customer_id text, date date, amount numeric);
CREATE TABLE kpi_monthly (month date, store text, arm text, metric text, value double precision);
INSERT INTO kpi_monthly VALUES ('2024-01-01', 'S01', 'pilot', 'repeat_rate', 0.31),
  ('2024-01-01', 'S02', 'control', 'repeat_rate', 0.29),
  ('2024-02-01', 'S01', 'pilot', 'repeat_rate', 0.33),
  ('2024-02-01', 'S02', 'control', 'repeat_rate', 0.30);
CREATE TABLE survey_responses ("ResponseId" text, "ExternalReference" text,
                               "E_reliability_1" integer, "P_reliability_1" integer);
INSERT INTO survey_responses VALUES ('R_1', 'C000101', 7, 5), ('R_2', NULL, 6, 6);
