//! The EVM behind the chain: revm at the London hardfork (what solc 0.8.11
//! targets and FISCO BCOS 3.x accepts), state in memory, no gas price, and,
//! on an SM chain, a KECCAK256 opcode that computes SM3 — as FISCO's SM-mode
//! EVM does, so the SM build's selectors, topics and storage slots are what
//! its code expects.

use alloy_primitives::{Address, Bytes, Log, TxKind, U256};
use revm::context::result::{ExecutionResult, HaltReason, OutOfGasError, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainBuilder, MainContext, MainnetEvm};
use revm::interpreter::interpreter_types::{InterpreterTypes, MemoryTr, StackTr};
use revm::interpreter::{Host, Instruction, InstructionContext, InstructionExecResult, InstructionResult, gas};
use revm::primitives::hardfork::SpecId;
use revm::{DatabaseRef, ExecuteCommitEvm, ExecuteEvm};
use wefe_chain::CryptoSuite;

use crate::chain::status;

/// Gas one transaction may use (FISCO BCOS's default `tx_gas_limit`).
pub const TX_GAS_LIMIT: u64 = 3_000_000_000;

type Db = CacheDB<EmptyDB>;
type Evm_ = MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, Db>>;

/// What a transaction did.
#[derive(Debug)]
pub enum Outcome {
    /// It ran to the end.
    Success {
        /// Gas used.
        gas_used: u64,
        /// Returned data (the runtime code, for a deployment).
        output: Bytes,
        /// Logs emitted.
        logs: Vec<Log>,
        /// The created contract, for a deployment.
        created: Option<Address>,
    },
    /// REVERT, with its data.
    Revert {
        /// Gas used.
        gas_used: u64,
        /// Revert data.
        output: Bytes,
    },
    /// Stopped by the EVM (out of gas, bad instruction…) or refused.
    Halt {
        /// Gas used.
        gas_used: u64,
        /// FISCO's status code for it.
        status: u64,
    },
}

/// The EVM and its state.
pub struct Evm {
    evm: Evm_,
}

impl std::fmt::Debug for Evm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evm").finish_non_exhaustive()
    }
}

/// An operand as a memory offset or length; beyond `usize` it could never
/// be paid for.
fn as_usize(value: U256) -> Result<usize, InstructionResult> {
    usize::try_from(value).map_err(|_| InstructionResult::InvalidOperandOOG)
}

/// KECCAK256 (0x20) computing SM3: the same operands, gas (30 + 6 per word,
/// plus memory expansion) and memory rules as revm's own KECCAK256.
fn sm3_opcode<IT: InterpreterTypes, H: Host + ?Sized>(context: InstructionContext<'_, H, IT>) -> InstructionExecResult {
    let Some(([offset], top)) = context.interpreter.stack.popn_top::<1>() else {
        return Err(InstructionResult::StackUnderflow);
    };
    let len = as_usize(*top)?;
    if !context.interpreter.gas.record_regular_cost(context.host.gas_params().keccak256_cost(len)) {
        return Err(InstructionResult::OutOfGas);
    }
    let hash = if len == 0 {
        wefe_crypto::sm::sm3(&[])
    } else {
        let from = as_usize(offset)?;
        revm::interpreter::interpreter::resize_memory(
            &mut context.interpreter.gas,
            &mut context.interpreter.memory,
            context.host.gas_params(),
            from,
            len,
        )?;
        wefe_crypto::sm::sm3(context.interpreter.memory.slice_len(from, len).as_ref())
    };
    *top = U256::from_be_bytes(hash);
    Ok(())
}

fn halt_status(reason: &HaltReason) -> u64 {
    match reason {
        HaltReason::OutOfGas(OutOfGasError::Basic | OutOfGasError::Memory | OutOfGasError::MemoryLimit)
        | HaltReason::OutOfGas(_) => status::OUT_OF_GAS,
        _ => status::BAD_INSTRUCTION,
    }
}

impl Evm {
    /// An empty state; `suite` picks the KECCAK256 opcode's hash.
    pub fn new(suite: CryptoSuite) -> Self {
        let ctx = Context::mainnet().with_db(Db::default()).modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(SpecId::LONDON);
            cfg.chain_id = 20200;
            // FISCO has no account nonces: its transactions carry random ones.
            cfg.disable_nonce_check = true;
            // solc 0.8.11's contracts are far below any limit; keep Ethereum's.
        });
        let mut evm = ctx.build_mainnet();
        if suite == CryptoSuite::Sm {
            evm.instruction.insert_instruction(0x20, Instruction::new(sm3_opcode), gas::KECCAK256 as u16);
        }
        Self { evm }
    }

    /// The code at `address` (empty for accounts without code).
    pub fn code(&self, address: Address) -> Bytes {
        match self.evm.ctx.journaled_state.database.basic_ref(address) {
            Ok(Some(info)) => info.code.map(|c| c.original_bytes()).unwrap_or_default(),
            _ => Bytes::new(),
        }
    }

    /// Runs a transaction (`to == None`: a deployment of `input`) in block
    /// `number` at `timestamp_ms`; `commit` keeps its effects (`false`: a call).
    pub fn transact(
        &mut self,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        number: u64,
        timestamp_ms: u64,
        commit: bool,
    ) -> Outcome {
        self.evm.ctx.modify_block(|block| {
            block.number = U256::from(number);
            block.timestamp = U256::from(timestamp_ms);
            block.gas_limit = TX_GAS_LIMIT;
            block.basefee = 0;
        });
        let tx = TxEnv::builder()
            .caller(from)
            .kind(to.map_or(TxKind::Create, TxKind::Call))
            .data(input)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .chain_id(None)
            .build_fill();
        let result = if commit { self.evm.transact_commit(tx) } else { self.evm.transact(tx).map(|r| r.result) };
        match result {
            Ok(ExecutionResult::Success { gas, logs, output, .. }) => {
                let gas_used = gas.tx_gas_used();
                match output {
                    Output::Create(code, created) => Outcome::Success { gas_used, output: code, logs, created },
                    Output::Call(data) => Outcome::Success { gas_used, output: data, logs, created: None },
                }
            }
            Ok(ExecutionResult::Revert { gas, output, .. }) => Outcome::Revert { gas_used: gas.tx_gas_used(), output },
            Ok(ExecutionResult::Halt { gas, reason, .. }) => {
                Outcome::Halt { gas_used: gas.tx_gas_used(), status: halt_status(&reason) }
            }
            Err(e) => {
                tracing::warn!(error = %e, "transaction refused by the EVM");
                Outcome::Halt { gas_used: 0, status: status::BAD_INSTRUCTION }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Init code returning a runtime that answers KECCAK256(calldata).
    const HASHER: &str = "6012600c60003960126000f33660006000373660002060005260206000f3";

    fn hash_of(suite: CryptoSuite, data: &[u8]) -> Bytes {
        let mut evm = Evm::new(suite);
        let init = Bytes::from(hex::decode(HASHER).unwrap());
        let Outcome::Success { created: Some(hasher), .. } = evm.transact(Address::ZERO, None, init, 1, 1_000, true)
        else {
            panic!("the hasher deploys")
        };
        match evm.transact(Address::ZERO, Some(hasher), Bytes::copy_from_slice(data), 2, 2_000, false) {
            Outcome::Success { output, gas_used, .. } => {
                // 21000 + calldata + the same opcodes and KECCAK256 gas as Ethereum's.
                assert!(gas_used > 21_000 && gas_used < 21_300, "{gas_used}");
                output
            }
            other => panic!("{other:?}"),
        }
    }

    /// GB/T 32905-2016's "abc" vector through the SM chain's KECCAK256; the
    /// ECDSA chain keeps Keccak-256.
    #[test]
    fn the_sm_chain_hashes_with_sm3_in_its_keccak256_opcode() {
        assert_eq!(
            hex::encode(hash_of(CryptoSuite::Sm, b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(hash_of(CryptoSuite::Sm, b"").as_ref(), &wefe_crypto::sm::sm3(b""));
        assert_eq!(hash_of(CryptoSuite::Ecdsa, b"abc").as_ref(), alloy_primitives::keccak256(b"abc").as_slice());
    }
}
