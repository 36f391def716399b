"""GraphQL documents the Shopify connector sends (Admin API, 2025-01 field names).

They are the contract between the connector, the sandbox (which executes them with
graphql-core against its schema) and the order transform (which reads the node shape).
"""

SHOP_QUERY = """
query ShopInfo {
  shop {
    id
    name
    email
    myshopifyDomain
    currencyCode
    ianaTimezone
    plan { displayName }
  }
}
"""

ORDERS_COUNT_QUERY = """
query OrdersCount($query: String) {
  ordersCount(query: $query, limit: null) { count precision }
}
"""

# Money comes as MoneyBag.shopMoney.amount: a decimal *string* (the Decimal scalar), parsed
# exactly by the connector. Nested connections are sized by variables so the connector can
# keep the requested cost under the single-query maximum.
_ORDER_FIELDS = """
  id
  legacyResourceId
  name
  email
  createdAt
  updatedAt
  processedAt
  cancelledAt
  cancelReason
  closedAt
  currencyCode
  taxesIncluded
  test
  displayFinancialStatus
  displayFulfillmentStatus
  paymentGatewayNames
  tags
  customer { id email firstName lastName }
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalRefundedSet { shopMoney { amount currencyCode } }
  totalOutstandingSet { shopMoney { amount currencyCode } }
  taxLines { title rate priceSet { shopMoney { amount currencyCode } } }
  lineItems(first: $lineItemsFirst) {
    nodes { ...LineItemFields }
    pageInfo { hasNextPage endCursor }
  }
  shippingLines(first: $shippingLinesFirst) {
    nodes {
      id
      title
      code
      originalPriceSet { shopMoney { amount currencyCode } }
      discountedPriceSet { shopMoney { amount currencyCode } }
      taxLines { title rate priceSet { shopMoney { amount currencyCode } } }
    }
  }
  refunds(first: $refundsFirst) {
    id
    createdAt
    note
    totalRefundedSet { shopMoney { amount currencyCode } }
  }
"""

_LINE_ITEM_FRAGMENT = """
fragment LineItemFields on LineItem {
  id
  sku
  name
  quantity
  variant { id }
  product { id }
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } }
  taxLines { title rate priceSet { shopMoney { amount currencyCode } } }
}
"""

ORDERS_QUERY = (
    """
query Orders(
  $first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys,
  $lineItemsFirst: Int!, $shippingLinesFirst: Int!, $refundsFirst: Int!
) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes {"""
    + _ORDER_FIELDS
    + """    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _LINE_ITEM_FRAGMENT
)

# Follow-up for the rare order with more line items than the page query asked for.
ORDER_LINE_ITEMS_QUERY = (
    """
query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      nodes { ...LineItemFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + _LINE_ITEM_FRAGMENT
)
