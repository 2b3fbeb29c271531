package io.migrategate.gate.admission;

import java.util.Objects;

/**
 * One entry of {@code metadata.ownerReferences}, reduced to what the owner walk needs.
 *
 * @param uid the owner's uid, empty when unknown; a cached object with another uid is a different
 *     object that reuses the name
 */
public record OwnerRef(
    String apiVersion, String kind, String name, String uid, boolean controller) {

  public OwnerRef {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    apiVersion = apiVersion == null ? "" : apiVersion;
    uid = uid == null ? "" : uid;
  }

  /** API group of the owner: {@code apps} for {@code apps/v1}, empty for the core group. */
  public String group() {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  public boolean is(String group, String kindName) {
    return group().equals(group) && kind.equals(kindName);
  }

  @Override
  public String toString() {
    return kind + "/" + name;
  }
}
