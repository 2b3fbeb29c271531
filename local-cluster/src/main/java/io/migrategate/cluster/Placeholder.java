package io.migrategate.cluster;

class Placeholder {}
