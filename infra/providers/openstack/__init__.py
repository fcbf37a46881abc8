"""The OpenStack provider: `driver.OpenStackDriver`, the only code of the console that imports openstacksdk."""

import warnings

from openstack import warnings as sdk_warnings

# openstacksdk warns about its own future (parameters and methods it will remove in 5.0/6.0) on ordinary calls,
# often from its internals: noise in every worker's log. The version is pinned (requirements.lock); a new one is
# checked by the contract suite before it lands.
for _category in (sdk_warnings.RemovedInSDK50Warning, sdk_warnings.RemovedInSDK60Warning):
    warnings.filterwarnings("ignore", category=_category)
