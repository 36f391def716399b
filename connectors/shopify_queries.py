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


# ---- catalog: products, variants, inventory, locations ------------------------------------
#
# Variant `price`/`compareAtPrice` are Money scalars (decimal strings); the weight `value`
# is a Float, read exactly because the connector parses JSON numbers as Decimal. Products
# come in three shapes (no variants, variants, variants with stock per location) so a caller
# pays only for what it asks; nested connections are completed by the follow-ups below.

PRODUCTS_COUNT_QUERY = """
query ProductsCount($query: String) {
  productsCount(query: $query, limit: null) { count precision }
}
"""

_PRODUCT_FIELDS = """
  id
  legacyResourceId
  title
  handle
  status
  vendor
  productType
  createdAt
  updatedAt
  publishedAt
"""

_VARIANT_FRAGMENT = """
fragment VariantFields on ProductVariant {
  id
  legacyResourceId
  sku
  title
  price
  compareAtPrice
  barcode
  position
  inventoryItem { id tracked measurement { weight { value unit } } }
}
"""

_LEVEL_FIELDS = """
      nodes {
        location { id }
        quantities(names: ["available"]) { name quantity }
        updatedAt
      }
      pageInfo { hasNextPage endCursor }
"""

_VARIANT_WITH_INVENTORY_FRAGMENT = (
    """
fragment VariantFields on ProductVariant {
  id
  legacyResourceId
  sku
  title
  price
  compareAtPrice
  barcode
  position
  inventoryItem {
    id
    tracked
    measurement { weight { value unit } }
    inventoryLevels(first: $levelsFirst) {"""
    + _LEVEL_FIELDS
    + """    }
  }
}
"""
)


def _products_query(variants: bool, inventory: bool) -> str:
    head = "$first: Int!, $after: String, $query: String, $sortKey: ProductSortKeys"
    if variants:
        head += ", $variantsFirst: Int!"
    if inventory:
        head += ", $levelsFirst: Int!"
    nested = (
        """
      variants(first: $variantsFirst) {
        nodes { ...VariantFields }
        pageInfo { hasNextPage endCursor }
      }"""
        if variants
        else ""
    )
    fragment = ""
    if variants:
        fragment = _VARIANT_WITH_INVENTORY_FRAGMENT if inventory else _VARIANT_FRAGMENT
    return (
        f"""
query Products({head}) {{
  products(first: $first, after: $after, query: $query, sortKey: $sortKey) {{
    nodes {{{_PRODUCT_FIELDS}{nested}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
        + fragment
    )


PRODUCTS_QUERY = _products_query(variants=False, inventory=False)
PRODUCTS_WITH_VARIANTS_QUERY = _products_query(variants=True, inventory=False)
PRODUCTS_WITH_INVENTORY_QUERY = _products_query(variants=True, inventory=True)

# Follow-ups for a product with more variants, or an item with more levels, than one page.
PRODUCT_VARIANTS_QUERY = (
    """
query ProductVariantsPage($id: ID!, $first: Int!, $after: String) {
  product(id: $id) {
    variants(first: $first, after: $after) {
      nodes { ...VariantFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + _VARIANT_FRAGMENT
)

PRODUCT_VARIANTS_WITH_INVENTORY_QUERY = (
    """
query ProductVariantsPage($id: ID!, $first: Int!, $after: String, $levelsFirst: Int!) {
  product(id: $id) {
    variants(first: $first, after: $after) {
      nodes { ...VariantFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + _VARIANT_WITH_INVENTORY_FRAGMENT
)

INVENTORY_LEVELS_QUERY = (
    """
query InventoryLevels($id: ID!, $first: Int!, $after: String) {
  inventoryItem(id: $id) {
    inventoryLevels(first: $first, after: $after) {"""
    + _LEVEL_FIELDS
    + """    }
  }
}
"""
)

DELETED_PRODUCTS_QUERY = """
query DeletedProducts($first: Int!, $after: String, $query: String) {
  deletionEvents(subjectTypes: [PRODUCT], first: $first, after: $after, query: $query,
                 sortKey: CREATED_AT) {
    nodes { subjectId subjectType occurredAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANTS_BY_SKU_QUERY = """
query VariantsBySku($first: Int!, $after: String, $query: String!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id sku product { id } inventoryItem { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

LOCATIONS_QUERY = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id legacyResourceId name isActive }
    pageInfo { hasNextPage endCursor }
  }
}
"""

_ADJUSTMENT_RESULT = """
    inventoryAdjustmentGroup {
      id
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { field message code }
"""

INVENTORY_SET_QUANTITIES_MUTATION = (
    """
mutation InventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {"""
    + _ADJUSTMENT_RESULT
    + """  }
}
"""
)

INVENTORY_ADJUST_QUANTITIES_MUTATION = (
    """
mutation InventoryAdjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {"""
    + _ADJUSTMENT_RESULT
    + """  }
}
"""
)


# ---- bulk operations ----------------------------------------------------------------------
#
# A bulk query has no variables, no `first`/`last` (Shopify reads whole connections) and
# uses `edges { node }` as Shopify's bulk examples do. The order node selects exactly the
# fields of ORDERS_QUERY's node (a test holds them equal), so the regrouped JSONL is the same
# shape the transform reads. `__ORDERS_ARGUMENTS__` is replaced by `query: "...", sortKey: X`.

BULK_ORDERS_QUERY_TEMPLATE = """
{
  orders(__ORDERS_ARGUMENTS__) {
    edges {
      node {
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
        lineItems {
          edges {
            node {
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
          }
        }
        shippingLines {
          edges {
            node {
              id
              title
              code
              originalPriceSet { shopMoney { amount currencyCode } }
              discountedPriceSet { shopMoney { amount currencyCode } }
              taxLines { title rate priceSet { shopMoney { amount currencyCode } } }
            }
          }
        }
        refunds {
          id
          createdAt
          note
          totalRefundedSet { shopMoney { amount currencyCode } }
        }
      }
    }
  }
}
"""

# `groupObjects` exists from API 2025-10 (default true there, false from 2026-01); before it,
# output was always grouped. Grouped output keeps children next to their parent, which is
# what lets the connector stream the file in constant memory.
BULK_OPERATION_RUN_QUERY_MUTATION = """
mutation BulkRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_OPERATION_RUN_QUERY_GROUPED_MUTATION = """
mutation BulkRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

_BULK_OPERATION_FIELDS = """
    id
    status
    errorCode
    createdAt
    completedAt
    objectCount
    rootObjectCount
    fileSize
    url
    partialDataUrl
    query
"""

BULK_OPERATION_QUERY = (
    """
query BulkOperation($id: ID!) {
  node(id: $id) {
    ... on BulkOperation {"""
    + _BULK_OPERATION_FIELDS
    + """    }
  }
}
"""
)

CURRENT_BULK_OPERATION_QUERY = (
    """
query CurrentBulkOperation {
  currentBulkOperation(type: QUERY) {"""
    + _BULK_OPERATION_FIELDS
    + """  }
}
"""
)

# ---- customers --------------------------------------------------------------------------------
#
# Admin GraphQL 2025-01. `email` is still served (deprecated in favour of
# `defaultEmailAddress { emailAddress }`, which is read too as the fallback);
# `numberOfOrders` is an UnsignedInt64 string and `amountSpent` a MoneyV2.

CUSTOMERS_COUNT_QUERY = """
query CustomersCount($query: String) {
  customersCount(query: $query, limit: null) { count precision }
}
"""

CUSTOMERS_QUERY = """
query CustomersPage($first: Int!, $after: String, $query: String, $sortKey: CustomerSortKeys) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes {
      id
      legacyResourceId
      email
      defaultEmailAddress { emailAddress }
      firstName
      lastName
      displayName
      phone
      state
      tags
      createdAt
      updatedAt
      numberOfOrders
      amountSpent { amount currencyCode }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# The first (or, reversed, the last) createdAt among the orders a search matches: the span a
# sliced bulk backfill divides. Costs a couple of points.
ORDER_CREATED_BOUND_QUERY = """
query OrderCreatedBound($query: String, $reverse: Boolean!) {
  orders(first: 1, query: $query, sortKey: CREATED_AT, reverse: $reverse) {
    nodes { createdAt }
  }
}
"""
