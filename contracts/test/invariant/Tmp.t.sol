// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;
import {ConsortiumInvariantTest} from "./ConsortiumInvariant.t.sol";
import {console} from "../../node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/console.sol";
contract TmpStats is ConsortiumInvariantTest {
    function afterInvariant() public {
        console.log(handler.ghostProposed(), handler.ghostVotes(), handler.ghostExecuted());
        console.log(handler.ghostCancelled(), consortium.adminCount(), consortium.threshold());
    }
}
