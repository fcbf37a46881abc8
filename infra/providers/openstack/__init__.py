"""The OpenStack provider: `driver.OpenStackDriver`, the only code of the console that imports openstacksdk."""
