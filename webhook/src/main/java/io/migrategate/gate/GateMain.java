package io.migrategate.gate;

class GateMain {}
