/**
 * The demo dataset loaded by --sample-data (idempotent, so it survives restarts with --data-dir):
 *
 *   public.orders               a table of 1,000 orders with the common types (bigint, integer, text,
 *                               numeric(12,2), double precision, boolean, date, timestamptz, uuid, jsonb,
 *                               text[]): 999 generated rows and one row of NULLs, so every column has a NULL
 *   public.order_totals         a view: orders per customer with their total amount
 *   public.large_orders         a materialized view: orders with an amount above 500
 */

export const SAMPLE_TABLE_DDL = `
CREATE TABLE IF NOT EXISTS public.orders (
  order_id     bigint,
  customer     text,
  quantity     integer,
  amount       numeric(12,2),
  discount     double precision,
  shipped      boolean,
  order_date   date,
  ordered_at   timestamptz,
  tracking_id  uuid,
  attributes   jsonb,
  tags         text[]
);

INSERT INTO public.orders
SELECT g,
       'customer-' || lpad((g % 37)::text, 2, '0'),
       1 + g % 9,
       round(((g * 7919) % 100000) / 100.0, 2),
       (g % 5) / 20.0,
       g % 3 = 0,
       DATE '2024-01-01' + (g % 366),
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '37 minutes 11.123456 seconds',
       md5('order-' || g)::uuid,
       jsonb_build_object('channel', CASE g % 3 WHEN 0 THEN 'web' WHEN 1 THEN 'store' ELSE 'phone' END, 'priority', g % 4 = 0, 'items', g % 9 + 1),
       ARRAY['tag-' || (g % 4), 'batch-' || (g % 10)]
FROM generate_series(1, 999) AS g
WHERE NOT EXISTS (SELECT 1 FROM public.orders);

INSERT INTO public.orders (order_id)
SELECT NULL::bigint WHERE NOT EXISTS (SELECT 1 FROM public.orders WHERE order_id IS NULL);

CREATE OR REPLACE VIEW public.order_totals AS
  SELECT customer, count(*) AS orders, sum(amount) AS total_amount
  FROM public.orders
  GROUP BY customer;
`;

export const SAMPLE_MATERIALIZED_VIEW = `CREATE MATERIALIZED VIEW IF NOT EXISTS public.large_orders AS
  SELECT order_id, customer, amount, ordered_at FROM public.orders WHERE amount > 500`;
