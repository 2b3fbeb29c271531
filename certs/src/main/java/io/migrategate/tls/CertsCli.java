package io.migrategate.tls;

class CertsCli {}
