#!/usr/bin/env python3
"""naive_count.py - the naive peer of make bench: a python3 json.loads loop
counting the request counters of tools/gwlog.mtail (requests per product,
api and code class, and per product and code class; the
popwarmup.aliyuncs.com domain dropped).  Prints one sample per line:

    gw_api_requests_total{product="..",api="..",code_class=".."} N
    gw_product_requests_total{product="..",code_class=".."} N

    naive_count.py FILE
"""

import json
import sys
from collections import Counter


def main(path):
    api, product = Counter(), Counter()
    with open(path, "rb") as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if not isinstance(o, dict):
                continue
            p, code = o.get("Product"), o.get("HttpCode")
            if not isinstance(p, str) or not p or code is None:
                continue
            if o.get("Domain") == "popwarmup.aliyuncs.com":
                continue
            cls = str(code)[:1] + "xx"
            product[(p, cls)] += 1
            a = o.get("Api")
            if isinstance(a, str):
                api[(p, a, cls)] += 1
    out = sys.stdout
    for (p, a, c), n in sorted(api.items()):
        out.write('gw_api_requests_total{product="%s",api="%s",'
                  'code_class="%s"} %d\n' % (p, a, c, n))
    for (p, c), n in sorted(product.items()):
        out.write('gw_product_requests_total{product="%s",code_class="%s"} '
                  '%d\n' % (p, c, n))


if __name__ == "__main__":
    main(sys.argv[1])
