/** The waiter's own parser (WaiterConfig.parse), nothing else. */
public class OwnParse {
  public static void main(String[] args) throws Exception {
    System.out.println(
        io.migrategate.wait.WaiterConfig.parse(java.util.List.of(args), System.getenv())
            .namespace());
  }
}
