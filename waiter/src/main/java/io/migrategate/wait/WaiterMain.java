package io.migrategate.wait;

class WaiterMain {}
