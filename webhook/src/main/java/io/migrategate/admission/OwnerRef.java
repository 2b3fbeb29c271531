package io.migrategate.admission;

import java.util.Objects;

/** One entry of {@code metadata.ownerReferences}, reduced to what the owner walk needs. */
public record OwnerRef(String apiVersion, String kind, String name, boolean controller) {

  public OwnerRef {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    apiVersion = apiVersion == null ? "" : apiVersion;
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
