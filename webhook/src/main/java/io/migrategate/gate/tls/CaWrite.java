package io.migrategate.gate.tls;

/**
 * The outcome of a conditional write of the CA Secret: {@code won} when this replica's proposal was
 * stored, otherwise {@code stored} is what another writer stored first (to be adopted).
 */
record CaWrite(CaSecretState stored, boolean won) {}
